import type { Context } from "hono";

/**
 * Who sent a request under /v1, as the app's authenticator found it from `x-api-key`. The app
 * knows nothing of how keys are stored: it asks `authenticate`, then enforces the scopes each
 * route declares and the caller's request rate.
 */
export interface Caller {
  /** Names the key in logs and rate-limit buckets; never the key itself. */
  keyId: string;
  scopes: ReadonlySet<string>;
  limits: RequestRate;
}

export interface RequestRate {
  requestsPerSecond: number;
  burst: number;
}

export type Authenticate = (presentedKey: string) => Promise<Caller | undefined>;

const CALLER = "quire.caller";

export function setCaller(c: Context, caller: Caller) {
  c.set(CALLER as never, caller as never);
}

/** The scopes of `scopes` the caller does not hold, in order. */
export const missingScopes = (caller: Caller, scopes: readonly string[]) =>
  scopes.filter((scope) => !caller.scopes.has(scope));

/** The authenticated caller of a /v1 route (set before any route handler runs). */
export function callerOf(c: Context): Caller {
  const caller = c.get(CALLER as never) as Caller | undefined;
  if (!caller) throw new Error(`no caller on ${c.req.method} ${c.req.path}: is it outside /v1?`);
  return caller;
}

/** What a rate check answers: whether to serve, and the numbers for the RateLimit headers. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** When refused: seconds until one request would be allowed. */
  retryAfterSeconds: number;
}

/**
 * A token bucket per key: `burst` requests at once, refilled at `requestsPerSecond`. Per
 * process: with N API processes (Lambda instances) a key gets up to N times its rate, so the
 * limit protects each process and the store behind it rather than metering a key exactly.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; rate: RequestRate }>();
  private takes = 0;
  private readonly now: () => number;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  take(keyId: string, rate: RequestRate): RateDecision {
    const at = this.now();
    const bucket = this.buckets.get(keyId) ?? { tokens: rate.burst, at, rate };
    bucket.tokens = Math.min(rate.burst, bucket.tokens + ((at - bucket.at) / 1000) * rate.requestsPerSecond);
    bucket.at = at;
    bucket.rate = rate;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(keyId, bucket);
    // Every 1,000 takes once there are many buckets: the sweep walks them all.
    if (this.buckets.size > 10_000 && ++this.takes % 1_000 === 0) this.sweep(at);
    return {
      allowed,
      limit: rate.burst,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((rate.burst - bucket.tokens) / rate.requestsPerSecond),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / rate.requestsPerSecond)),
    };
  }

  /** Forgets buckets that have refilled, each at its own rate: they hold nothing a new bucket would not. */
  private sweep(at: number) {
    for (const [keyId, bucket] of this.buckets) {
      const { requestsPerSecond, burst } = bucket.rate;
      if (bucket.tokens + ((at - bucket.at) / 1000) * requestsPerSecond >= burst) this.buckets.delete(keyId);
    }
  }
}

/**
 * Caps how many long requests (`?wait=`) a key holds at once in this process: each holds a
 * connection and polls the store until its job is done.
 */
export class ConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();

  /** A release function, or undefined when the key already holds `max`. */
  tryAcquire(keyId: string, max: number): (() => void) | undefined {
    const held = this.inFlight.get(keyId) ?? 0;
    if (held >= max) return undefined;
    this.inFlight.set(keyId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(keyId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(keyId, left);
      else this.inFlight.delete(keyId);
    };
  }
}
