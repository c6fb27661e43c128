import { serviceWiring } from "@quire/topology";

/** What ingestion consumes and emits, read from the topology declaration and the event catalogue. */
export const wiring = serviceWiring("ingestion");
