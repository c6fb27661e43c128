import { serviceWiring } from "@quire/topology";

/** What notifier consumes and emits, read from the topology declaration and the event catalogue. */
export const wiring = serviceWiring("notifier");
