import { serviceWiring } from "@quire/topology";

/** What the batcher consumes and emits, read from the topology declaration and the event catalogue. */
export const wiring = serviceWiring("batcher");
