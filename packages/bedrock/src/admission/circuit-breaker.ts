/**
 * A circuit breaker per model: while Bedrock answers that the model is unavailable (503
 * ServiceUnavailable, ModelNotReady, 5xx, timeouts, dropped connections), calls stop going out
 * and queue consumers stop receiving, so an outage costs waiting in SQS rather than jobs.
 *
 *   closed ──(≥ threshold unavailable among the last `window` answers)──▶ open
 *   open ──(openMs elapsed)──▶ half-open: exactly one call (the probe) may go
 *   half-open ──probe answered──▶ closed          (the model is back)
 *   half-open ──probe unavailable──▶ open again, for twice as long (up to maxOpenMs)
 *
 * Throttles are not outages: the quota answers them (the governor's AIMD does), so they are
 * neither counted here nor do they close the breaker. A call that failed for its own reasons
 * (a bad request, an unusable answer) says the model is up.
 */

export type CallHealth = "success" | "unavailable" | "throttled" | "other";

export interface CircuitBreakerOptions {
  /** Answers remembered while closed. Default 10. */
  window?: number;
  /** Unavailable answers among them that open the breaker. Default 5. */
  threshold?: number;
  /** First open period. Default 5 s. */
  openMs?: number;
  /** Longest open period after repeated failed probes. Default 60 s. */
  maxOpenMs?: number;
}

export type CircuitState = "closed" | "open" | "half-open";

/** Thrown to a caller while the breaker is open: retry after `retryAfterMs` (a transient failure). */
export class CircuitOpenError extends Error {
  override readonly name = "CircuitOpenError";
  readonly code = "MODEL_UNAVAILABLE" as const;
  readonly retryable = true as const;
  readonly retryAfterMs: number;

  constructor(modelId: string, retryAfterMs: number) {
    super(`Bedrock model ${modelId} is unavailable (circuit open); retry in ${Math.ceil(retryAfterMs / 1000)} s.`);
    this.retryAfterMs = retryAfterMs;
  }
}

export class CircuitBreaker {
  private readonly window: number;
  private readonly threshold: number;
  private readonly baseOpenMs: number;
  private readonly maxOpenMs: number;
  private readonly now: () => number;
  private recent: boolean[] = [];
  private openFor: number;
  private openUntil = 0;
  private probing = false;
  private current: CircuitState = "closed";
  /** How many times it opened (for stats and specs). */
  opened = 0;

  constructor(options: CircuitBreakerOptions, now: () => number) {
    this.window = options.window ?? 10;
    this.threshold = options.threshold ?? 5;
    this.baseOpenMs = options.openMs ?? 5_000;
    this.maxOpenMs = Math.max(this.baseOpenMs, options.maxOpenMs ?? 60_000);
    this.openFor = this.baseOpenMs;
    this.now = now;
    if (!(this.threshold >= 1 && this.threshold <= this.window))
      throw new RangeError("circuit threshold must be within 1..window");
  }

  get state(): CircuitState {
    if (this.current === "open" && this.now() >= this.openUntil) this.current = "half-open";
    return this.current;
  }

  /** Whether a call may start now; in half-open, true once (that call is the probe). */
  tryPass(): boolean {
    switch (this.state) {
      case "closed":
        return true;
      case "open":
        return false;
      case "half-open":
        if (this.probing) return false;
        this.probing = true;
        return true;
    }
  }

  /** How many calls could start now without being refused: unlimited, one probe, or none. */
  capacity(): number {
    const state = this.state;
    if (state === "closed") return Number.POSITIVE_INFINITY;
    return state === "half-open" && !this.probing ? 1 : 0;
  }

  /** When a refused caller should come back: the end of the open period, or a probe's time. */
  retryAfterMs(): number {
    return this.current === "open" ? Math.max(0, this.openUntil - this.now()) : this.baseOpenMs;
  }

  /** Milliseconds until the state may change by time alone (open → half-open); undefined otherwise. */
  msUntilProbe(): number | undefined {
    return this.state === "open" ? Math.max(1, this.openUntil - this.now()) : undefined;
  }

  record(health: CallHealth, wasProbe: boolean): void {
    if (wasProbe || (this.current === "half-open" && this.probing)) {
      if (health === "throttled") {
        // The model answered (it is up), but the quota is spent: neither verdict; let another call probe.
        this.probing = false;
        return;
      }
      this.probing = false;
      if (health === "unavailable") {
        this.openFor = Math.min(this.maxOpenMs, this.openFor * 2);
        this.trip();
      } else {
        this.current = "closed";
        this.openFor = this.baseOpenMs;
        this.recent = [];
      }
      return;
    }
    if (this.current !== "closed" || health === "throttled") return;
    this.recent.push(health === "unavailable");
    if (this.recent.length > this.window) this.recent.shift();
    if (health === "unavailable" && this.recent.filter(Boolean).length >= this.threshold) this.trip();
  }

  private trip(): void {
    this.current = "open";
    this.openUntil = this.now() + this.openFor;
    this.recent = [];
    this.opened++;
  }
}
