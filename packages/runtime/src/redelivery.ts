/**
 * When a message that failed transiently comes back, and when it stops coming back.
 *
 * The rule both hosts follow: a transient failure (a throttle, a 5xx, a timeout, a model that is
 * down, a bug that might be a race) never uses up a message's life in seconds. It waits *in the
 * queue* — its visibility timeout set to a growing, jittered delay of up to minutes — instead of
 * in a hot loop or a handler's sleep. Only two things end it short of success:
 *   - a permanent error (the handler throws `PermanentError`), at once;
 *   - its retry budget: the message's age (from its first send) past `maxAgeSeconds`, or a
 *     deadline the consumer names for it (a run's deadline), whichever comes first.
 * The queue's `maxReceiveCount` stays as a backstop for a message that crashes its worker every
 * time (no handler outcome, so no age check); it is sized so that the backoff below, not it,
 * decides: see `minimumMaxReceiveCount`.
 */

/** SQS's ceiling for a visibility timeout (12 h). */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

export interface RedeliveryPolicy {
  /** First retry's delay ceiling (before jitter); doubles per delivery. Default 2. */
  baseDelaySeconds: number;
  /** Largest delay between deliveries. Default 300 (5 minutes). */
  maxDelaySeconds: number;
  /**
   * How long a message may keep failing transiently, counted from its first send (SQS's
   * SentTimestamp). Default 6 hours: an outage of hours costs waiting, not jobs.
   */
  maxAgeSeconds: number;
}

export const DEFAULT_REDELIVERY_POLICY: RedeliveryPolicy = {
  baseDelaySeconds: 2,
  maxDelaySeconds: 300,
  maxAgeSeconds: 6 * 60 * 60,
};

export function resolveRedeliveryPolicy(options: Partial<RedeliveryPolicy> = {}): RedeliveryPolicy {
  const policy = {
    ...DEFAULT_REDELIVERY_POLICY,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`redelivery.${key} must be a finite, non-negative number, got ${value}`);
  }
  if (policy.maxDelaySeconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
    throw new RangeError(
      `redelivery.maxDelaySeconds is at most ${MAX_VISIBILITY_TIMEOUT_SECONDS} (SQS's visibility timeout limit)`,
    );
  }
  return policy;
}

/**
 * The delay before delivery `receiveCount + 1`: 2, 4, 8 … s up to `maxDelaySeconds`, with
 * "equal jitter" (a uniform draw in the upper half), so the delay keeps growing while workers
 * throttled at the same moment do not all come back in the same second.
 */
export function redeliveryDelaySeconds(
  receiveCount: number,
  policy: RedeliveryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** Math.max(0, receiveCount - 1));
  const draw = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (draw * ceiling) / 2);
}

/**
 * The smallest `maxReceiveCount` that lets the backoff alone use a message's whole age budget,
 * even if every delivery failed at once (plus a margin for deliveries cut short by crashes and
 * visibility timeouts). The topology's stage queues are declared at least this large.
 */
export function minimumMaxReceiveCount(policy: RedeliveryPolicy): number {
  let elapsed = 0;
  let deliveries = 0;
  // Lower bound of each delay (equal jitter: half the ceiling).
  while (elapsed < policy.maxAgeSeconds && deliveries < 10_000) {
    deliveries++;
    elapsed += Math.max(
      1,
      Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** Math.max(0, deliveries - 1)) / 2,
    );
  }
  return Math.ceil(deliveries * 1.25);
}

/**
 * A failure may say when trying again makes sense (a circuit breaker that will probe the model
 * in 20 s, a `Retry-After`): `retryAfterMs` on the error or on its cause. Duck-typed, so the
 * runtime knows nothing of Bedrock or of who set it.
 */
export function retryAfterMsOf(error: unknown): number | undefined {
  for (let current = error, depth = 0; typeof current === "object" && current !== null && depth < 5; depth++) {
    const hint = (current as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof hint === "number" && Number.isFinite(hint) && hint >= 0) return hint;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
