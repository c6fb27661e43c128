export {
  createQuireClient,
  QuireApiError,
  type ClientOptions,
  type DeliveryView,
  type DocumentInput,
  type JobView,
  type QuireClient,
  type RunSubmitted,
  type RunView,
  type EventType,
  type JobStatus,
  type AttemptView,
  type SubscriptionInput,
  type SubscriptionView,
  type SubscriptionCreated,
  type DeliveryDetail,
  type DeadlinePlan,
} from "./client.ts";
export { findLocalApiKey, resolveConnection } from "./connection.ts";
export { readDocuments } from "./documents.ts";
export { LISTEN_PORTS, startListener, type Listener } from "./listen.ts";
export { buildProgram, type CliIo } from "./program.ts";
