export * from "./common.ts";
export * from "./document-submitted.ts";
export * from "./events.ts";
export { buildAsyncApiDocument } from "./asyncapi.ts";
export { newJobId, newRunId } from "./ids.ts";
