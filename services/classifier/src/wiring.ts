import { serviceWiring } from "@quire/topology";

/** What classifier consumes and emits, read from the topology declaration and the event catalogue. */
export const wiring = serviceWiring("classifier");
