import { z } from "zod";

/**
 * A key's limits. Requests are counted per key in each API process (a token bucket: `burst`
 * at once, refilled at `requestsPerSecond`); `concurrentWaits` caps the key's `?wait=`
 * requests in flight, each of which holds a connection and polls the job store.
 */
export const keyLimits = z.strictObject({
  // At least one request in about 17 minutes: a smaller rate is a key that cannot be used.
  requestsPerSecond: z.number().min(0.001).max(10_000),
  burst: z.int().positive().max(100_000),
  concurrentWaits: z.int().nonnegative().max(1_000),
});
export type KeyLimits = z.infer<typeof keyLimits>;

/** What a key gets unless it is created with its own: QUIRE_KEY_* settings override these. */
export const DEFAULT_KEY_LIMITS: KeyLimits = { requestsPerSecond: 50, burst: 100, concurrentWaits: 10 };
