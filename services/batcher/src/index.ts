export { wiring } from "./wiring.ts";
