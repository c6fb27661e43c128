/**
 * @quire/bedrock — Bedrock Converse for Quire's model stages: versioned prompts, summarize and
 * classify (forced tool use, zod-validated), and our own jittered retry policy.
 */
export {
  classificationInputSchema,
  classificationPromptVersionFor,
  createBedrockStageClient,
  DEFAULT_MODEL_ID,
  DEFAULT_TAXONOMY,
  estimateRequestTokens,
  withoutSdkRetries,
} from "./stage-client.ts";
export type {
  BedrockStageClient,
  BedrockStageClientOptions,
  CallFacts,
  ConverseEvent,
  ModelCallOptions,
  StageAttemptEvent,
} from "./stage-client.ts";
export {
  AbortError,
  AttemptTimeoutError,
  BedrockRequestError,
  classifyBedrockError,
  failureReasonOf,
  isRetryableBedrockError,
  isThrottle,
  ModelOutputError,
  ModelUnavailableError,
} from "./errors.ts";
export type { FailureKind, ModelOutputProblem } from "./errors.ts";
export { backoffDelay, DEFAULT_RETRY_POLICY, resolveRetryPolicy, sleep, withRetries } from "./retry.ts";
export type { AttemptEvent, RetryOptions, RetryPolicy } from "./retry.ts";
export {
  classificationJsonV1,
  classificationV1,
  CLASSIFICATION_TOOL_NAME,
  prompts,
  summaryV1,
  wrapDocument,
} from "./prompts/index.ts";
export {
  batchOutputLine,
  classificationRecord,
  DEFAULT_BATCH_MAX_INPUT_CHARS,
  parseOutputLine,
  readClassificationAnswer,
  readSummaryAnswer,
  summaryRecord,
} from "./batch/records.ts";
export type { BatchAnswer, BatchOutputLine, BatchRecord } from "./batch/records.ts";
export type { TokenUsage } from "./usage.ts";
export {
  callOutcomeOf,
  CircuitBreaker,
  CircuitOpenError,
  createGovernor,
  eventSourceMaximumConcurrency,
  feasibleWithin,
  planThroughput,
  TokenBucket,
  type AcquireOptions,
  type CallHealth,
  type CallResult,
  type CircuitBreakerOptions,
  type CircuitState,
  type Governor,
  type GovernorOptions,
  type Lane,
  type ModelQuota,
  type ModelStats,
  type Permit,
  type ThroughputPlan,
  createQuotaMembership,
  fairShares,
  fixedQuotaShare,
  QuotaPacer,
  shareOf,
  type MemberReport,
  type QuotaMember,
  type QuotaMemberStore,
  type QuotaMembership,
  type QuotaMembershipOptions,
  type QuotaShare,
  type QuotaShareView,
} from "./admission/index.ts";
export {
  costOf,
  DEFAULT_PRICES,
  loadPriceTable,
  modelPrice,
  PRICES_TAKEN_AT,
  pricedUsage,
  priceTable,
  type ModelPrice,
  type PriceTable,
  type TokenCount,
} from "./pricing.ts";
