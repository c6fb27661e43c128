export { createLogger, type Logger, type LogLevel } from "./logger.ts";
export { defineConsumer, type Consumer, type ConsumerContext } from "./consumer.ts";
export { PermanentError, isPermanentError, type FailureReason } from "./errors.ts";
export { unwrapSqsBody } from "./unwrap.ts";
export { copyAttribute, FAILURE_ATTRIBUTES } from "./dead-letter.ts";
export { createLambdaHandler, type LambdaHostOptions } from "./hosts/lambda.ts";
export {
  startLocalRunner,
  type LocalRunner,
  type LocalRunnerOptions,
  type LocalRunnerState,
  type LocalRunnerStats,
  type RunnerAdmission,
} from "./hosts/local/index.ts";
export {
  DEFAULT_REDELIVERY_POLICY,
  minimumMaxReceiveCount,
  redeliveryDelaySeconds,
  resolveRedeliveryPolicy,
  retryAfterMsOf,
  type RedeliveryPolicy,
} from "./redelivery.ts";
