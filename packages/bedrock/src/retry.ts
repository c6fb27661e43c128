/**
 * Our retry policy for Converse calls: exponential backoff with full jitter, a per-attempt
 * timeout, separate budgets for model errors and unusable answers, and prompt cancellation.
 *
 * Why our own loop rather than the SDK's: the SDK's standard strategy backs off for at most a
 * few seconds and knows nothing of our failure kinds (an unusable tool answer is a 200 to it).
 * Quota throttling on Bedrock lasts until the minute window moves on, so we need longer, capped
 * delays; and the caller (an SQS consumer) needs one clear outcome — transient or permanent —
 * plus the attempt count for metrics. The stage client switches the SDK's retries off per call,
 * so the two never multiply (6 of ours × 3 of the SDK's would be 18 calls).
 */
import {
  AbortError,
  CallNotAdmittedError,
  AttemptTimeoutError,
  BedrockRequestError,
  ModelOutputError,
  ModelUnavailableError,
  attemptErrorTag,
  classifyBedrockError,
  errorNameOf,
  httpStatusOf,
  isThrottle,
  type FailureKind,
} from "./errors.ts";
import type { TokenUsage } from "./usage.ts";
import { CircuitOpenError } from "./admission/circuit-breaker.ts";

export interface RetryOptions {
  /** Calls in total, first one included. */
  maxAttempts?: number;
  /** Backoff cap before jitter for the first retry; doubles per attempt. */
  baseDelayMs?: number;
  /** Upper bound of any single backoff. */
  maxDelayMs?: number;
  /** Per-attempt timeout: a call still unanswered after this is abandoned and counts as transient. */
  timeoutMs?: number;
  /** Extra calls after a ModelErrorException (424) before it becomes permanent. */
  modelErrorRetries?: number;
  /** Extra calls after an unusable answer (schema violation, empty text) before ModelOutputError. */
  invalidOutputRetries?: number;
}

export type RetryPolicy = Required<RetryOptions>;

/**
 * 6 attempts with 200 ms doubling up to 20 s gives worst-case waits of 0.2+0.4+0.8+1.6+3.2 s ≈ 6 s
 * (expected half that with full jitter) — enough to ride out a burst; a saturated per-minute
 * quota is better left to SQS redelivery (visibility timeout) than to a worker sleeping on it.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 20_000,
  timeoutMs: 60_000,
  modelErrorRetries: 2,
  invalidOutputRetries: 2,
};

export function resolveRetryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options) };
  const integers: Array<keyof RetryPolicy> = ["maxAttempts", "modelErrorRetries", "invalidOutputRetries"];
  for (const key of integers) {
    if (!Number.isInteger(policy[key]) || policy[key] < 0)
      throw new RangeError(`retry.${key} must be a non-negative integer`);
  }
  if (policy.maxAttempts < 1) throw new RangeError("retry.maxAttempts must be at least 1");
  for (const key of ["baseDelayMs", "maxDelayMs", "timeoutMs"] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0)
      throw new RangeError(`retry.${key} must be a finite, non-negative number`);
  }
  if (policy.timeoutMs === 0) throw new RangeError("retry.timeoutMs must be positive");
  return policy;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/**
 * Full jitter ("Exponential Backoff and Jitter", AWS Architecture Blog): a uniform draw in
 * [0, min(maxDelayMs, baseDelayMs × 2^(retry−1))). Spreading retries over the whole interval
 * keeps many workers throttled at the same moment from coming back in lockstep.
 * `retry` is 1 for the first retry (after the first failed attempt).
 */
export function backoffDelay(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  // Clamp the draw: an injected random() returning exactly 1 (or garbage) must not exceed the cap.
  const draw = Math.min(Math.max(random(), 0), 1);
  return Math.floor(draw * ceiling);
}

/** setTimeout as a promise that rejects with AbortError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface AttemptEvent {
  /** 1-based number of the call. */
  attempt: number;
  /**
   * Exception name or problem tag of a failed call ("ThrottlingException", "MODEL_OUTPUT_INVALID:schema-violation").
   */
  error?: string;
  /** Backoff before the next call, when there will be one. */
  delayMs?: number;
  /** Tokens the call consumed, when Bedrock answered (also for answers we rejected). */
  usage?: TokenUsage;
}

export interface RetryContext {
  policy: RetryPolicy;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  signal?: AbortSignal | undefined;
  onAttempt?: ((event: AttemptEvent) => void) | undefined;
  /**
   * A governor paces this caller (its limit shrank, its bucket emptied): a throttled attempt
   * queues for admission again after a short jitter instead of backing off exponentially, which
   * would leave the quota idle while the governor already holds the rate down.
   */
  throttlesPacedByGovernor?: boolean | undefined;
}

/** An attempt's failure may carry the usage of an answer that was rejected (for metrics). */
export interface UsageCarrier {
  usage?: TokenUsage;
}

/**
 * Runs `attempt` until it succeeds, a permanent failure occurs, a budget runs out or the caller
 * aborts. Each call gets its own AbortSignal, fired by the per-attempt timeout or the caller's signal.
 */
export async function withRetries<T extends { usage?: TokenUsage }>(
  attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
  context: RetryContext,
): Promise<{ value: T; attempts: number }> {
  const { policy, signal } = context;
  const report = (event: AttemptEvent) => {
    try {
      context.onAttempt?.(event);
    } catch {
      // A metrics hook must never change the outcome of a model call.
    }
  };
  let modelErrors = 0;
  let invalidOutputs = 0;

  for (let attemptNumber = 1; ; attemptNumber++) {
    if (signal?.aborted) throw new AbortError(signal.reason);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new AttemptTimeoutError(policy.timeoutMs));
    }, policy.timeoutMs);
    const forwardAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", forwardAbort, { once: true });

    let failure: unknown;
    try {
      const value = await attempt(controller.signal, attemptNumber);
      report({ attempt: attemptNumber, ...(value.usage === undefined ? {} : { usage: value.usage }) });
      return { value, attempts: attemptNumber };
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forwardAbort);
    }

    // The caller's abort wins over whatever the SDK made of the cancelled request.
    if (signal?.aborted) {
      report({ attempt: attemptNumber, error: "AbortError" });
      throw new AbortError(signal.reason);
    }
    if (timedOut) failure = new AttemptTimeoutError(policy.timeoutMs);
    // The caller refused the call itself (its run's budget): its own error, at once, no retry.
    if (failure instanceof CallNotAdmittedError) {
      report({ attempt: attemptNumber, error: failure.name });
      throw failure.cause;
    }
    // The model is down and the breaker says so: no point spending attempts; the message waits
    // in its queue until the breaker's next probe.
    if (failure instanceof CircuitOpenError) {
      report({ attempt: attemptNumber, error: failure.name });
      throw new ModelUnavailableError(failure.message, failure, attemptNumber, failure.retryAfterMs);
    }

    const kind = classifyBedrockError(failure);
    const usage = (failure as UsageCarrier | null)?.usage;
    const base = { attempt: attemptNumber, error: attemptErrorTag(failure), ...(usage === undefined ? {} : { usage }) };
    if (kind === "model-error") modelErrors++;
    if (kind === "invalid-output") invalidOutputs++;
    const exhausted =
      kind === "permanent" ||
      attemptNumber >= policy.maxAttempts ||
      (kind === "model-error" && modelErrors > policy.modelErrorRetries) ||
      (kind === "invalid-output" && invalidOutputs > policy.invalidOutputRetries);
    if (exhausted) {
      report(base);
      throw finalError(kind, failure, attemptNumber);
    }
    // An unusable answer is not a capacity problem: ask again at once. Everything else backs off.
    const paced = context.throttlesPacedByGovernor && isThrottle(failure);
    const delayMs = kind === "invalid-output" ? 0 : backoffDelay(paced ? 1 : attemptNumber, policy, context.random);
    report({ ...base, delayMs });
    if (delayMs > 0) await context.sleep(delayMs, signal);
    // An injected sleep may ignore the signal; check before spending another call.
    if (signal?.aborted) throw new AbortError(signal.reason);
  }
}

function finalError(kind: FailureKind, failure: unknown, attempts: number): Error {
  switch (kind) {
    case "transient":
      return new ModelUnavailableError(
        `Bedrock unavailable after ${attempts} attempt${attempts === 1 ? "" : "s"} (last: ${attemptErrorTag(failure)}).`,
        failure,
        attempts,
      );
    case "model-error":
      return new ModelOutputError(
        "model-error",
        `The model failed to process the document (${errorNameOf(failure)}) on ${attempts} attempt${attempts === 1 ? "" : "s"}.`,
        { attempts, cause: failure },
      );
    case "invalid-output": {
      const problem = failure instanceof ModelOutputError ? failure.problem : "schema-violation";
      const detail = failure instanceof Error ? failure.message : "unusable answer";
      return new ModelOutputError(problem, `${detail} (after ${attempts} attempt${attempts === 1 ? "" : "s"})`, {
        attempts,
        cause: failure,
      });
    }
    case "permanent": {
      const status = httpStatusOf(failure);
      // Only Bedrock's own refusals become BedrockRequestError; other errors (bugs, missing
      // credentials) pass through unchanged so their stack and type stay intact.
      if (status !== undefined || isBedrockServiceError(failure)) {
        const message = failure instanceof Error ? failure.message : String(failure);
        return new BedrockRequestError(
          `Bedrock rejected the request (${errorNameOf(failure)}${status === undefined ? "" : `, HTTP ${status}`}): ${message}`,
          failure,
        );
      }
      return failure instanceof Error ? failure : new Error(String(failure));
    }
  }
}

function isBedrockServiceError(error: unknown): boolean {
  return typeof error === "object" && error !== null && "$fault" in error;
}
