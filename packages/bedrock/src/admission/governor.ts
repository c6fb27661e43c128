import { classifyBedrockError, isThrottle } from "../errors.ts";
import {
  CircuitBreaker,
  CircuitOpenError,
  type CallHealth,
  type CircuitBreakerOptions,
  type CircuitState,
} from "./circuit-breaker.ts";
import { TokenBucket } from "./token-bucket.ts";

export interface ModelQuota {
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
}
/** Sync requests (someone is waiting on the HTTP answer) go before bulk runs, without starving them. */
export type Lane = "interactive" | "bulk";

export interface GovernorOptions {
  /** Configured quotas per model id. They may be wrong (or shared with other processes): AIMD corrects. */
  quotas?: Record<string, ModelQuota>;
  /** Starting in-flight limit per model (a restarted process: its share of the quota, not a guess). */
  initialLimit?: number;
  /**
   * Slow start (doubling) ends here even before a throttle: what the whole quota sustains.
   * Beyond it only additive increase, so a process never overshoots a known quota by 2×.
   */
  slowStartCeiling?: number;
  /** The model's circuit breaker (see circuit-breaker.ts); `false` turns it off. */
  circuit?: CircuitBreakerOptions | false;
  minLimit?: number;
  maxLimit?: number;
  /** Multiplicative decrease on a throttle of a call admitted since the last decrease. */
  decreaseFactor?: number;
  /** Interactive grants in a row while bulk waits, before one bulk waiter is served. */
  interactiveBurst?: number;
  /** Burst a token bucket allows, in seconds of its rate. */
  burstSeconds?: number;
  now?: () => number;
  schedule?: (delayMs: number, run: () => void) => { cancel(): void };
}

export interface CallResult {
  /** `unavailable`: the model did not answer (5xx, not ready, network) — the circuit breaker counts these. */
  outcome: "success" | "throttled" | "unavailable" | "error";
  usage?: { inputTokens: number; outputTokens: number } | undefined;
  latencyMs?: number | undefined;
}
export interface Permit {
  /** Report how the call went, exactly once. */
  release(result: CallResult): void;
}
export interface AcquireOptions {
  estimatedTokens: number;
  lane?: Lane | undefined;
  signal?: AbortSignal | undefined;
}
export interface ModelStats {
  modelId: string;
  limit: number;
  inFlight: number;
  waiting: { interactive: number; bulk: number };
  granted: number;
  successes: number;
  throttles: number;
  errors: number;
  tokensUsed: number;
  circuit: CircuitState;
  circuitOpened: number;
}
export interface Governor {
  /**
   * Wait for a slot: in flight below the adaptive limit, and the RPM/TPM buckets can pay.
   * Rejects with CircuitOpenError (retryable, with retryAfterMs) while the model's circuit is open.
   */
  acquire(modelId: string, options: AcquireOptions): Promise<Permit>;
  /** acquire → call → release, classifying throttles and reading Converse `usage`. */
  run<T>(modelId: string, options: AcquireOptions, call: () => Promise<T>): Promise<T>;
  /** Calls that could start now: what a queue consumer may receive without making messages wait. */
  freeCapacity(modelId: string): number;
  /**
   * A queue consumer took `count` messages that will ask for permits: count them against the
   * limit until they do (each acquire redeems one), or until they lapse (a message that never
   * calls the model — a cache hit — must not hold capacity for long).
   */
  reserve(modelId: string, count: number): void;
  /** Resolves when capacity may have changed: a call finished, or a bucket refilled (or the signal aborts). */
  waitForChange(modelId: string, signal?: AbortSignal): Promise<void>;
  stats(): ModelStats[];
}

interface Waiter {
  tokens: number;
  grant(permit: Permit): void;
  reject(reason: unknown): void;
}

interface ModelState {
  modelId: string;
  limit: number;
  inFlight: number;
  requests?: TokenBucket;
  tokens?: TokenBucket;
  queues: Record<Lane, Waiter[]>;
  interactiveStreak: number;
  lastDecreaseAt: number;
  latencyEwmaMs: number;
  /** Until the first throttle the limit doubles each window (TCP's slow start), then grows by one. */
  slowStart: boolean;
  timer?: { cancel(): void };
  circuit?: CircuitBreaker;
  capacityWaiters: Set<() => void>;
  /** When each outstanding reservation was made, oldest first. */
  reservations: number[];
  stats: Omit<ModelStats, "modelId" | "limit" | "inFlight" | "waiting" | "circuit" | "circuitOpened">;
}

/** How one call's failure reads to the governor: a throttle (AIMD), the model being down (circuit), or neither. */
export function callOutcomeOf(error: unknown): "throttled" | "unavailable" | "error" {
  if (isThrottle(error)) return "throttled";
  return classifyBedrockError(error) === "transient" ? "unavailable" : "error";
}

/**
 * Admission control for Bedrock, per model id: a token bucket for the configured requests and
 * tokens per minute, and an in-flight limit that adapts AIMD-style — slow start (doubling) until
 * the first throttle, then additive increase while calls succeed, multiplicative decrease on
 * ThrottlingException (once per generation of calls, so one overload counts once). Processes sharing a quota never
 * talk: each backs off when the shared
 * quota throttles it, which converges on a fair share of it, like TCP flows sharing a link.
 */
export function createGovernor(options: GovernorOptions = {}): Governor {
  const now = options.now ?? (() => performance.now());
  const schedule =
    options.schedule ??
    ((delayMs: number, run: () => void) => {
      const timer = setTimeout(run, delayMs);
      return { cancel: () => clearTimeout(timer) };
    });
  const initialLimit = options.initialLimit ?? 4;
  const slowStartCeiling = options.slowStartCeiling ?? Number.POSITIVE_INFINITY;
  const minLimit = options.minLimit ?? 1;
  const maxLimit = options.maxLimit ?? 256;
  const decreaseFactor = options.decreaseFactor ?? 0.7;
  const interactiveBurst = options.interactiveBurst ?? 4;
  const burstSeconds = options.burstSeconds ?? 10;
  const models = new Map<string, ModelState>();

  function stateOf(modelId: string): ModelState {
    let state = models.get(modelId);
    if (state) return state;
    const quota = options.quotas?.[modelId] ?? options.quotas?.["*"];
    const bucket = (perMinute: number | undefined) =>
      perMinute ? new TokenBucket(perMinute, Math.max(1, (perMinute * burstSeconds) / 60), now) : undefined;
    const requests = bucket(quota?.requestsPerMinute);
    const tokens = bucket(quota?.tokensPerMinute);
    state = {
      modelId,
      limit: initialLimit,
      inFlight: 0,
      ...(requests ? { requests } : {}),
      ...(tokens ? { tokens } : {}),
      queues: { interactive: [], bulk: [] },
      interactiveStreak: 0,
      lastDecreaseAt: -Infinity,
      latencyEwmaMs: 1000,
      slowStart: initialLimit < slowStartCeiling,
      ...(options.circuit === false ? {} : { circuit: new CircuitBreaker(options.circuit ?? {}, now) }),
      capacityWaiters: new Set(),
      reservations: [],
      stats: { granted: 0, successes: 0, throttles: 0, errors: 0, tokensUsed: 0 },
    };
    models.set(modelId, state);
    return state;
  }

  const effectiveLimit = (state: ModelState) => Math.max(minLimit, Math.floor(state.limit));
  const bucketsCanPay = (state: ModelState, tokens: number) =>
    (state.requests?.canTake(1) ?? true) && (state.tokens?.canTake(tokens) ?? true);
  const msUntilPayable = (state: ModelState, tokens: number) =>
    Math.max(state.requests?.msUntil(1) ?? 0, state.tokens?.msUntil(tokens) ?? 0);

  function nextLane(state: ModelState): Lane | undefined {
    const { interactive, bulk } = state.queues;
    if (interactive.length && (!bulk.length || state.interactiveStreak < interactiveBurst)) return "interactive";
    return bulk.length ? "bulk" : undefined;
  }

  function pump(state: ModelState): void {
    state.timer?.cancel();
    delete state.timer;
    for (;;) {
      const lane = nextLane(state);
      if (!lane) break;
      if (state.inFlight >= effectiveLimit(state)) break;
      const waiter = state.queues[lane][0]!;
      if (!bucketsCanPay(state, waiter.tokens)) {
        state.timer = schedule(Math.max(1, msUntilPayable(state, waiter.tokens)), () => {
          delete state.timer;
          pump(state);
        });
        break;
      }
      // Open: nobody waits for a model that is down — they go back to their queue (with when to
      // come back). Half-open: the first waiter is the probe; the rest go back too.
      const probe = state.circuit !== undefined && state.circuit.state !== "closed";
      if (probe && !state.circuit!.tryPass()) {
        refuseAll(state);
        break;
      }
      state.queues[lane].shift();
      state.interactiveStreak = lane === "interactive" ? state.interactiveStreak + 1 : 0;
      waiter.grant(admit(state, waiter.tokens, probe));
      if (probe) {
        refuseAll(state);
        break;
      }
    }
    notifyCapacity(state);
  }

  /** Every waiter is told the circuit is open (a transient failure that says when to retry). */
  function refuseAll(state: ModelState): void {
    const error = new CircuitOpenError(state.modelId, state.circuit?.retryAfterMs() ?? 0);
    for (const lane of ["interactive", "bulk"] as const) {
      for (const waiter of state.queues[lane].splice(0)) waiter.reject(error);
    }
  }

  function admit(state: ModelState, estimatedTokens: number, probe = false): Permit {
    state.requests?.take(1);
    state.tokens?.take(estimatedTokens);
    state.inFlight++;
    state.stats.granted++;
    const charged = state.tokens?.charge(estimatedTokens) ?? estimatedTokens;
    const grantedAt = now();
    let released = false;
    return {
      release(result) {
        if (released) return;
        released = true;
        state.inFlight--;
        const health: CallHealth = result.outcome === "error" ? "other" : result.outcome;
        state.circuit?.record(health, probe);
        // Model latency only: a throttle answers at once and would shrink the decrease window to nothing.
        if (result.outcome === "success" && result.latencyMs !== undefined)
          state.latencyEwmaMs = 0.8 * state.latencyEwmaMs + 0.2 * result.latencyMs;
        if (result.usage) {
          const used = result.usage.inputTokens + result.usage.outputTokens;
          state.stats.tokensUsed += used;
          state.tokens?.adjust(charged - used);
        }
        if (result.outcome === "success") {
          state.stats.successes++;
          // Grow only a limit there is demand for (at least half of it in use when this call ended,
          // as Netflix's AIMD limiter does): an idle process must not bank a huge limit.
          if ((demand(state) + 1) * 2 >= effectiveLimit(state))
            state.limit = Math.min(maxLimit, state.limit + (state.slowStart ? 1 : 1 / state.limit));
          if (state.slowStart && state.limit >= slowStartCeiling) state.slowStart = false;
        } else if (result.outcome === "throttled") {
          state.stats.throttles++;
          // The server's bucket is empty: ours should be too, or we would spend a burst on more 429s.
          state.requests?.drain();
          // One decrease per generation: a call admitted before the last decrease reports an
          // overload we already answered; only one admitted since says the new limit is too high.
          // And at most once per model latency: the quota's answer to a decrease takes that long.
          if (grantedAt > state.lastDecreaseAt && now() - state.lastDecreaseAt >= Math.max(1000, state.latencyEwmaMs)) {
            state.limit = Math.max(minLimit, state.limit * decreaseFactor);
            state.lastDecreaseAt = now();
            state.slowStart = false;
          }
        } else {
          state.stats.errors++;
        }
        pump(state);
      },
    };
  }

  /** Reservations lapse after a couple of latencies: by then their message has asked, or never will. */
  function liveReservations(state: ModelState): number {
    const cutoff = now() - Math.max(2000, 2 * state.latencyEwmaMs);
    while (state.reservations.length && state.reservations[0]! < cutoff) state.reservations.shift();
    return state.reservations.length;
  }

  /** Work that will need a slot: running, waiting for one, or taken from a queue on the way to asking. */
  const demand = (state: ModelState) =>
    state.inFlight + state.queues.interactive.length + state.queues.bulk.length + liveReservations(state);

  function freeCapacity(state: ModelState): number {
    const circuitRoom = state.circuit?.capacity() ?? Number.POSITIVE_INFINITY;
    if (circuitRoom <= 0) return 0;
    const wanted = demand(state);
    const free = effectiveLimit(state) - wanted;
    if (free <= 0) return 0;
    // Waiting and reserved calls will each take a request token before anything new can.
    const affordable = Math.floor(state.requests?.available() ?? Infinity) - (wanted - state.inFlight);
    return Math.max(0, Math.min(free, affordable, circuitRoom));
  }

  function notifyCapacity(state: ModelState): void {
    for (const wake of [...state.capacityWaiters]) wake();
  }

  return {
    acquire(modelId, { estimatedTokens, lane = "bulk", signal }) {
      const state = stateOf(modelId);
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (state.circuit?.state === "open")
        return Promise.reject(new CircuitOpenError(modelId, state.circuit.retryAfterMs()));
      return new Promise<Permit>((resolve, reject) => {
        const onAbort = () => {
          const queue = state.queues[lane];
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          reject(signal!.reason);
          pump(state);
        };
        const waiter: Waiter = {
          tokens: estimatedTokens,
          grant: (permit) => {
            signal?.removeEventListener("abort", onAbort);
            resolve(permit);
          },
          reject,
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        // This call redeems the reservation its message was received on (if any).
        liveReservations(state);
        state.reservations.shift();
        state.queues[lane].push(waiter);
        pump(state);
      });
    },

    async run(modelId, acquireOptions, call) {
      const permit = await this.acquire(modelId, acquireOptions);
      const started = now();
      try {
        const result = await call();
        const usage = (result as { usage?: { inputTokens?: number; outputTokens?: number } } | null)?.usage;
        permit.release({
          outcome: "success",
          latencyMs: now() - started,
          ...(usage?.inputTokens !== undefined
            ? { usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens ?? 0 } }
            : {}),
        });
        return result;
      } catch (error) {
        permit.release({ outcome: callOutcomeOf(error), latencyMs: now() - started });
        throw error;
      }
    },

    freeCapacity: (modelId) => freeCapacity(stateOf(modelId)),

    reserve(modelId, count) {
      const state = stateOf(modelId);
      const at = now();
      for (let i = 0; i < count; i++) state.reservations.push(at);
    },

    waitForChange(modelId, signal) {
      const state = stateOf(modelId);
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          state.capacityWaiters.delete(wake);
          timer.cancel();
          signal?.removeEventListener("abort", onAbort);
        };
        const wake = () => {
          done();
          resolve();
        };
        const onAbort = () => {
          done();
          reject(signal!.reason);
        };
        state.capacityWaiters.add(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
        // Capacity also returns by refill alone, which no release announces: wake when it is due.
        // (A release announces itself; the timer is only for refills, and a safety net otherwise.)
        // An open circuit half-opens by time alone too: wake for the probe.
        const refillMs = state.requests?.msUntil(1) ?? 0;
        const probeMs = state.circuit?.msUntilProbe();
        const dueMs = Math.min(refillMs > 0 ? refillMs : 1000, probeMs ?? Number.POSITIVE_INFINITY);
        const timer = schedule(dueMs, wake);
      });
    },

    stats: () =>
      [...models.values()].map((state) => ({
        modelId: state.modelId,
        limit: Number(state.limit.toFixed(2)),
        inFlight: state.inFlight,
        waiting: { interactive: state.queues.interactive.length, bulk: state.queues.bulk.length },
        ...state.stats,
        circuit: state.circuit?.state ?? "closed",
        circuitOpened: state.circuit?.opened ?? 0,
      })),
  };
}
