export { createSummarizer } from "./handler.ts";
export { wiring } from "./wiring.ts";
