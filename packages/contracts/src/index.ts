export * from "./common.ts";
export * from "./document-submitted.ts";
export * from "./events.ts";
export { buildAsyncApiDocument } from "./asyncapi.ts";
export {
  newDeliveryId,
  newJobId,
  newManifestId,
  newRunId,
  newSubscriptionId,
  runDocumentJobId,
} from "./ids.ts";
export * from "./notifications.ts";
export * from "./run-batch.ts";
export { DEFAULT_MODEL_ID } from "./model.ts";
