export { createNotifier } from "./handler.ts";
export { wiring } from "./wiring.ts";
