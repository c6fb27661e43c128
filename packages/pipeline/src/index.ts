export {
  BATCH_LIMITS,
  createBatchRunner,
  type BatchCheck,
  type BatchRunner,
  type BatchRunnerDependencies,
  type BatchSubmission,
} from "./batch-runner.ts";
export { createBatcher, refusedForGood, type BatcherDependencies } from "./batcher.ts";
export { createEventPublisher, type EventPublisher } from "./event-publisher.ts";
export { loadDocumentText } from "./document-source.ts";
export { AnnouncementPendingError, createJobLifecycle, failJobOnDeadLetter, type JobLifecycle } from "./lifecycle.ts";
export { createRunDeadline, createStageHandler, type StageDependencies } from "./stage-handler.ts";
export { createAwsClients, type AwsClients } from "./clients.ts";
export { startGovernorReporting } from "./governor-reporting.ts";
export {
  apiKeysOf,
  createBatcherFor,
  governedAdmission,
  governorFor,
  governorSettings,
  lambdaHandlerFor,
  redeliveryPolicyOf,
  queueOf,
  quotaMembershipFor,
  runLocally,
  runStageLocally,
  serveHealth,
  stageDependencies,
  withMetricsFlush,
  type LocalConsumer,
} from "./assembly.ts";
export {
  DocumentPublisher,
  encodeDocumentSubmitted,
  fitsInline,
  packBatches,
  SNS_MAX_BATCH_BYTES,
  SNS_MAX_BATCH_ENTRIES,
  SNS_MAX_MESSAGE_BYTES,
  snsMessageBytes,
  type EncodedMessage,
} from "./document-publisher.ts";
