export { createClassifier } from "./handler.ts";
export { wiring } from "./wiring.ts";
