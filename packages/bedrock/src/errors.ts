/**
 * Errors the stage client throws, split by what the caller should do with the message:
 *   - ModelUnavailableError  (transient) → let SQS redeliver later;
 *   - ModelOutputError       (permanent) → dead-letter: the model cannot give a usable answer;
 *   - BedrockRequestError    (permanent) → dead-letter: Bedrock refuses the request itself;
 *   - AbortError                         → the caller cancelled; nothing to record.
 * Messages never contain document text: they end up in job records, DLQ entries and logs.
 */
import type { FailureReason } from "@quire/contracts";
import type { TokenUsage } from "./usage.ts";

/** Why an answer was unusable; also the `error` tag reported to `onAttempt`. */
export type ModelOutputProblem =
  | "empty-answer"
  | "missing-tool-use"
  | "schema-violation"
  | "truncated"
  | "content-filtered"
  | "model-error";

export class ModelOutputError extends Error {
  override readonly name = "ModelOutputError";
  readonly code = "MODEL_OUTPUT_INVALID" as const;
  readonly retryable = false as const;
  readonly problem: ModelOutputProblem;
  /** Calls made before giving up (0 while the error is still inside the retry loop). */
  readonly attempts: number;
  /** Tokens the rejected answer consumed, when there was one (for metrics, not for the caller's result). */
  readonly usage: TokenUsage | undefined;

  constructor(
    problem: ModelOutputProblem,
    message: string,
    options: { attempts?: number; cause?: unknown; usage?: TokenUsage } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.problem = problem;
    this.attempts = options.attempts ?? 0;
    this.usage = options.usage;
  }
}

export class ModelUnavailableError extends Error {
  override readonly name = "ModelUnavailableError";
  readonly code = "MODEL_UNAVAILABLE" as const;
  readonly retryable = true as const;
  /** The last attempt's error (ThrottlingException, ServiceUnavailableException, a timeout...). */
  override readonly cause: unknown;
  readonly attempts: number;
  /** When trying again makes sense (the circuit breaker's next probe), if known; read by the queue hosts. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, cause: unknown, attempts: number, retryAfterMs?: number) {
    super(message);
    // Assigned here, not via super({ cause }): a redeclared class field would reset it to undefined.
    this.cause = cause;
    this.attempts = attempts;
    this.retryAfterMs = retryAfterMs;
  }
}

export class BedrockRequestError extends Error {
  override readonly name = "BedrockRequestError";
  readonly code = "MODEL_REQUEST_INVALID" as const;
  readonly retryable = false as const;
  /** Bedrock's exception name, e.g. "ValidationException". */
  readonly errorName: string;
  readonly httpStatusCode: number | undefined;
  override readonly cause: unknown;

  constructor(message: string, cause: unknown) {
    super(message);
    this.cause = cause;
    this.errorName = errorNameOf(cause);
    this.httpStatusCode = httpStatusOf(cause);
  }
}

/** Thrown when the caller's AbortSignal fires: no further attempts are made. */
export class AbortError extends Error {
  override readonly name = "AbortError";
  readonly code = "ABORT_ERR" as const;

  constructor(reason?: unknown) {
    super("The operation was aborted.", reason === undefined ? undefined : { cause: reason });
  }
}

/** Raised inside the retry loop when one attempt exceeds `retry.timeoutMs`. */
export class AttemptTimeoutError extends Error {
  override readonly name = "AttemptTimeoutError";
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`Bedrock did not answer within ${timeoutMs} ms.`);
    this.timeoutMs = timeoutMs;
  }
}

// ---- classification of SDK / network errors ---------------------------------------------------

/** What the retry loop does with a failed attempt. */
export type FailureKind = "transient" | "model-error" | "invalid-output" | "permanent";

/** Capacity or service trouble: the same request can succeed later. */
const TRANSIENT_EXCEPTIONS = new Set([
  "ThrottlingException",
  "ServiceUnavailableException",
  "ModelTimeoutException",
  "InternalServerException",
  "ModelNotReadyException",
  // "You can resubmit your request later" (Bedrock docs); it is a quota, not a malformed request.
  "ServiceQuotaExceededException",
  "TooManyRequestsException",
  // The SDK's own request timeout and generic timeout names.
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "AttemptTimeoutError",
  // Our own circuit breaker refusing a call while the model is down (admission/circuit-breaker.ts).
  "CircuitOpenError",
]);

/** The request itself is wrong (bad model id, no access, too long...): retrying cannot help. */
const PERMANENT_EXCEPTIONS = new Set([
  "ValidationException",
  "AccessDeniedException",
  "ResourceNotFoundException",
  "ConflictException",
  "UnknownOperationException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
]);

/** Socket-level failures: the request may never have reached Bedrock. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

function errorNameOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "name" in error && typeof error.name === "string")
    return error.name;
  return "Error";
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("$metadata" in error)) return undefined;
  const metadata = error.$metadata;
  if (typeof metadata !== "object" || metadata === null || !("httpStatusCode" in metadata)) return undefined;
  return typeof metadata.httpStatusCode === "number" ? metadata.httpStatusCode : undefined;
}

function errorCodeOf(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string")
    return error.code;
  return undefined;
}

/**
 * How a raw failure of one Converse call is handled. Exception names decide first (they are
 * Bedrock's contract); then the HTTP status for unmodelled answers (a proxy's 502, say); then
 * socket error codes. Anything else — a bug, missing credentials — is permanent: retrying a
 * programming error six times only delays the report.
 */
export function classifyBedrockError(error: unknown): FailureKind {
  if (error instanceof ModelOutputError) return error.problem === "model-error" ? "model-error" : "invalid-output";
  if (error instanceof ModelUnavailableError) return "transient";
  if (error instanceof BedrockRequestError || error instanceof AbortError) return "permanent";
  const name = errorNameOf(error);
  // 424: the model failed on this input. Maybe a fluke, maybe the input: a couple of retries, then permanent.
  if (name === "ModelErrorException") return "model-error";
  if (TRANSIENT_EXCEPTIONS.has(name)) return "transient";
  if (PERMANENT_EXCEPTIONS.has(name)) return "permanent";
  const status = httpStatusOf(error);
  if (status !== undefined) return TRANSIENT_STATUS.has(status) ? "transient" : "permanent";
  const code = errorCodeOf(error);
  if (code !== undefined && (NETWORK_ERROR_CODES.has(code) || code.startsWith("ERR_HTTP2_"))) return "transient";
  if (typeof error === "object" && error !== null && "$retryable" in error && error.$retryable) return "transient";
  return "permanent";
}

/**
 * A quota throttle (ThrottlingException, or any 429): the one definition the retry loop, the
 * governor's AIMD and the circuit breaker share. Throttles are transient, but they are not
 * outages: the governor answers them by pacing, the breaker ignores them.
 */
export function isThrottle(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === "ThrottlingException" || e?.$metadata?.httpStatusCode === 429;
}

/**
 * True when trying the same request again later can succeed: Bedrock throttling/unavailability,
 * model errors and timeouts, network failures, and this package's ModelUnavailableError.
 * False for request errors (ValidationException...), ModelOutputError, BedrockRequestError and aborts.
 */
export function isRetryableBedrockError(error: unknown): boolean {
  if (error instanceof ModelOutputError) return false;
  const kind = classifyBedrockError(error);
  return kind === "transient" || kind === "model-error";
}

/** A DLQ/job failure reason for any error thrown by the stage client (never includes document text). */
export function failureReasonOf(error: unknown): FailureReason {
  if (
    error instanceof ModelOutputError ||
    error instanceof ModelUnavailableError ||
    error instanceof BedrockRequestError
  ) {
    return { code: error.code, message: error.message };
  }
  if (error instanceof AbortError) return { code: "ABORTED", message: error.message };
  return { code: "MODEL_CALL_FAILED", message: `${errorNameOf(error)} while calling Bedrock` };
}

/** The short tag reported to `onAttempt`: an exception name or code, never a message. */
export function attemptErrorTag(error: unknown): string {
  if (error instanceof ModelOutputError) return `${error.code}:${error.problem}`;
  const name = errorNameOf(error);
  const code = errorCodeOf(error);
  return name === "Error" && code !== undefined ? code : name;
}

export { errorNameOf, httpStatusOf };

/**
 * The caller's `admit` check refused a call its permit had admitted (a run out of budget): nothing
 * was sent. Not a model failure — the retry loop gives the caller's own error back at once, and
 * the governor takes the permit back without counting an error.
 */
export class CallNotAdmittedError extends Error {
  override readonly name = "CallNotAdmittedError";
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super(`the call was not admitted: ${(cause as Error)?.message ?? String(cause)}`);
    this.cause = cause;
  }
}
