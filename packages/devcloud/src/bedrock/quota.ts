/**
 * Per-model request and token quotas as a sliding-window log.
 *
 * Why a sliding log rather than a fixed window or a token bucket: Bedrock states its quotas
 * "per minute", and the property callers reason about is "no more than N in any 60 s". A fixed
 * window lets 2N through across a boundary; a token bucket allows an initial burst and refills
 * continuously, which hides the minute-long stalls a saturated production client really sees.
 * The log holds one entry per admitted request (at most RPM of them), which is cheap at the
 * quota sizes Bedrock uses, and gives an exact "retry after" (when the oldest entry expires).
 *
 * Tokens: Bedrock reserves input + maxTokens at admission and corrects to the actual usage when
 * the answer is done, so an entry's token count is reserved first and settled later.
 */

export interface QuotaLimits {
  readonly requestsPerMinute: number | null;
  readonly tokensPerMinute: number | null;
}

export interface QuotaAdmission {
  /** Replace the reservation by what the request really used (input + output tokens). */
  settle(actualTokens: number): void;
}

export type QuotaDecision =
  | { readonly admitted: true; readonly admission: QuotaAdmission }
  | {
      readonly admitted: false;
      readonly limit: "requests" | "tokens";
      /** True when the request alone exceeds the token quota: retrying cannot help. */
      readonly neverFits: boolean;
      /** Time until enough of the window has expired, in real (scaled) ms. */
      readonly retryAfterMs: number;
    };

interface WindowEntry {
  readonly at: number;
  tokens: number;
}

export class SlidingWindowQuota {
  readonly #windowMs: number;
  readonly #now: () => number;
  #entries: WindowEntry[] = [];

  /** `windowMs` is one quota minute in real time: 60 000 × timeScale. */
  constructor(windowMs: number, now: () => number) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  tryAdmit(limits: QuotaLimits, reservedTokens: number): QuotaDecision {
    const now = this.#now();
    this.#expire(now);
    const { requestsPerMinute, tokensPerMinute } = limits;
    if (requestsPerMinute !== null && this.#entries.length + 1 > requestsPerMinute) {
      const oldest = this.#entries[this.#entries.length - requestsPerMinute];
      return { admitted: false, limit: "requests", neverFits: false, retryAfterMs: this.#expiresIn(oldest, now) };
    }
    if (tokensPerMinute !== null) {
      if (reservedTokens > tokensPerMinute) {
        return { admitted: false, limit: "tokens", neverFits: true, retryAfterMs: this.#windowMs };
      }
      let used = this.#usedTokens();
      if (used + reservedTokens > tokensPerMinute) {
        // Walk the log oldest first until enough tokens would have expired.
        let retryAfterMs = this.#windowMs;
        for (const entry of this.#entries) {
          used -= entry.tokens;
          if (used + reservedTokens <= tokensPerMinute) {
            retryAfterMs = this.#expiresIn(entry, now);
            break;
          }
        }
        return { admitted: false, limit: "tokens", neverFits: false, retryAfterMs };
      }
    }
    const entry: WindowEntry = { at: now, tokens: reservedTokens };
    this.#entries.push(entry);
    return {
      admitted: true,
      admission: {
        settle: (actualTokens: number) => {
          entry.tokens = Math.max(0, actualTokens);
        },
      },
    };
  }

  /** Requests and tokens counted in the current window (for stats and tests). */
  usage(): { requests: number; tokens: number } {
    this.#expire(this.#now());
    return { requests: this.#entries.length, tokens: this.#usedTokens() };
  }

  #usedTokens(): number {
    return this.#entries.reduce((sum, entry) => sum + entry.tokens, 0);
  }

  #expiresIn(entry: WindowEntry | undefined, now: number): number {
    return entry === undefined ? 0 : Math.max(0, entry.at + this.#windowMs - now);
  }

  #expire(now: number): void {
    const cutoff = now - this.#windowMs;
    let firstLive = 0;
    while (firstLive < this.#entries.length && (this.#entries[firstLive]?.at ?? 0) <= cutoff) firstLive++;
    if (firstLive > 0) this.#entries = this.#entries.slice(firstLive);
  }
}
