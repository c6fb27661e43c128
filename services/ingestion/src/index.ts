export { createIngestion } from "./service.ts";
export { createApp, jobView, runView, MAX_RUN_DOCUMENTS, MAX_WAIT_SECONDS } from "./app.ts";
export { wiring } from "./wiring.ts";
