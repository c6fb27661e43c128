import { CallNotAdmittedError, classifyBedrockError, isThrottle } from "../errors.ts";
import {
  CircuitBreaker,
  CircuitOpenError,
  type CallHealth,
  type CircuitBreakerOptions,
  type CircuitState,
} from "./circuit-breaker.ts";
import { QuotaPacer, type PacerContext } from "./quota-pacer.ts";
import type { MemberReport, QuotaShare } from "./quota-share.ts";
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
  /**
   * What the requests bucket holds when it starts, in seconds of its rate, one request at least (default: full,
   * `burstSeconds`). With a known quota, 0 (one request) makes a run start at the quota's rate, not a burst above it.
   */
  startBurstSeconds?: number;
  /**
   * This process's share of each quota, when several share it (see quota-share.ts). With a known
   * RPM quota, a pacer spends the share exactly (see quota-pacer.ts): its rate is the control and
   * the in-flight limit is what that rate sustains — AIMD is for a process alone with a quota it does not know.
   */
  quotaShare?: QuotaShare;
  /** The window the server counts the RPM quota over (Bedrock: a minute; a time-scaled emulator: less). */
  quotaWindowMs?: number;
  /** Mean model latency to plan with before calls are measured (Little's law: in flight = rate × latency). */
  expectedLatencyMs?: number;
  /**
   * The in-flight limit's cap, and slow start's end, as a multiple of what the member's share of
   * the RPM quota sustains (share × RPM × latency ÷ 60 s). Default 1.15 (latency jitter).
   */
  shareHeadroom?: number;
  now?: () => number;
  schedule?: (delayMs: number, run: () => void) => { cancel(): void };
}

export interface CallResult {
  /** `unavailable`: the model did not answer (5xx, not ready, network) — the circuit breaker counts these. */
  /** `cancelled`: admitted, then not sent (the caller's `admit` refused it): not a model outcome at all. */
  outcome: "success" | "throttled" | "unavailable" | "error" | "cancelled";
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
  /** The fraction of the configured quota this process's buckets run at (1 without a shared view). */
  share: number;
  /** The quota as the pacer has learned it, against the configured one (1 without a shared view). */
  scale: number;
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
   * calls the model — a cache hit — must not hold capacity for long). `count` 0: its receive found
   * none (no backlog: held back, it is not starved for work).
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
  /** Sharing a known RPM quota: the pacer replaces the requests bucket and AIMD. */
  pacer?: QuotaPacer;
  /** This member leads the group's probing of the quota (see quota-pacer.ts). */
  leader: boolean;
  /** The leader's last change of its estimate this member adopted (a token, from the leader's clock). */
  adoptedLeaderChange?: number;
  /** How long the group's throttles take to reach this member (see QuotaShareView.feedbackMs). */
  feedbackMs?: number;
  /** When a queue consumer last took messages for this model, and when one last found none. */
  lastReservedAt: number;
  lastEmptyReceiveAt: number;
  tokens?: TokenBucket;
  /** The whole quota as configured (the buckets run at its share). */
  quota: ModelQuota;
  /** The fraction of the quota the buckets run at now. */
  fraction: number;
  /** Until when this model counts as starved: work was left waiting for the limit or the buckets. */
  starvedUntil: number;
  successesMeasured: number;
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
  stats: Omit<
    ModelStats,
    "modelId" | "limit" | "share" | "scale" | "inFlight" | "waiting" | "circuit" | "circuitOpened"
  >;
}

/** A share is a fraction of the quota in (0, 1]: a bucket at rate 0 would never admit again. */
const clampFraction = (fraction: number) => (Number.isFinite(fraction) ? Math.min(1, Math.max(0.001, fraction)) : 1);

/** How one call's failure reads to the governor: a throttle (AIMD), the model being down (circuit), or neither. */
export function callOutcomeOf(error: unknown): "throttled" | "unavailable" | "error" | "cancelled" {
  if (error instanceof CallNotAdmittedError) return "cancelled";
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
  const startBurstSeconds = options.startBurstSeconds ?? burstSeconds;
  const shareHeadroom = options.shareHeadroom ?? 1.15;
  const quotaShare = options.quotaShare;
  const models = new Map<string, ModelState>();
  /** A bucket's burst (and its starting level) at `perMinute`: at least one request's worth. */
  const burstOf = (perMinute: number, seconds: number) => Math.max(1, (perMinute * seconds) / 60);

  function stateOf(modelId: string): ModelState {
    let state = models.get(modelId);
    if (state) return state;
    const quota = options.quotas?.[modelId] ?? options.quotas?.["*"] ?? {};
    // A member of a shared quota starts at its share of it (the fallback split until the shared view answers).
    const fraction = clampFraction(
      quotaShare?.current(modelId, () =>
        state ? reportOf(state) : { wants: 0, scale: 1, scaleChangedAt: 0, successes: 0, throttles: 0, windowCount: 0 },
      ).fraction ?? 1,
    );
    const pacer =
      quotaShare && quota.requestsPerMinute
        ? new QuotaPacer(
            {
              requestsPerMinute: quota.requestsPerMinute,
              ...(options.quotaWindowMs ? { windowMs: options.quotaWindowMs } : {}),
              burstMs: burstSeconds * 1000,
              startBurstMs: startBurstSeconds * 1000,
              headroom: shareHeadroom,
              now,
            },
            fraction,
          )
        : undefined;
    // The requests bucket starts with `startBurstSeconds` of its rate (one request at least: a
    // process's first call never waits a whole token's time); the tokens bucket full (a second
    // of the TPM at the default burst — no call waits for its first estimate to accrue).
    const bucket = (perMinute: number | undefined, startSeconds: number) =>
      perMinute
        ? new TokenBucket(
            perMinute * fraction,
            burstOf(perMinute * fraction, burstSeconds),
            now,
            burstOf(perMinute * fraction, startSeconds),
          )
        : undefined;
    const requests = pacer ? undefined : bucket(quota.requestsPerMinute, startBurstSeconds);
    const tokens = bucket(quota.tokensPerMinute, burstSeconds);
    state = {
      modelId,
      limit: initialLimit,
      quota,
      fraction,
      starvedUntil: Number.NEGATIVE_INFINITY,
      successesMeasured: 0,
      inFlight: 0,
      ...(requests ? { requests } : {}),
      ...(pacer ? { pacer } : {}),
      leader: true,
      lastReservedAt: Number.NEGATIVE_INFINITY,
      lastEmptyReceiveAt: Number.NEGATIVE_INFINITY,
      ...(tokens ? { tokens } : {}),
      queues: { interactive: [], bulk: [] },
      interactiveStreak: 0,
      lastDecreaseAt: -Infinity,
      latencyEwmaMs: options.expectedLatencyMs ?? 1000,
      slowStart: initialLimit < slowStartCeiling,
      ...(options.circuit === false ? {} : { circuit: new CircuitBreaker(options.circuit ?? {}, now) }),
      capacityWaiters: new Set(),
      reservations: [],
      stats: { granted: 0, successes: 0, throttles: 0, errors: 0, tokensUsed: 0 },
    };
    models.set(modelId, state);
    // A member of a shared quota knows what its share sustains in flight: it starts there (the
    // pacer paces it), not at a guess it must double from.
    if (pacer) {
      state.limit = shareCeiling(state);
      state.slowStart = false;
    }
    return state;
  }

  /** The model latency to plan with: measured once calls succeed, the expected one before. */
  const latencyOf = (state: ModelState) =>
    state.successesMeasured > 0 ? state.latencyEwmaMs : (options.expectedLatencyMs ?? state.latencyEwmaMs);
  /** What the whole RPM quota sustains in flight, with headroom (Little's law); unbounded without an RPM quota. */
  const quotaInFlight = (state: ModelState) =>
    state.quota.requestsPerMinute
      ? (state.quota.requestsPerMinute * latencyOf(state) * shareHeadroom) / 60_000
      : Number.POSITIVE_INFINITY;
  /**
   * The in-flight limit's cap: what this member's share of the quota sustains (no more is useful: the
   * buckets pace at the share). Only with a shared view — alone, the configured quota may be wrong and AIMD decides.
   */
  /**
   * The latency the pacer's in-flight cap plans with: the configured one, unless the measured one
   * says it is clearly wrong (over 1.5×). Measured latency is the client's — on a busy host it
   * carries the event loop's delays too, and a cap on it would let catch-up waves of calls
   * overshoot what the quota needs in flight.
   */
  const capLatencyOf = (state: ModelState) => {
    const measured = latencyOf(state);
    const expected = options.expectedLatencyMs;
    return expected !== undefined && measured <= 1.5 * expected ? Math.min(measured, expected) : measured;
  };
  const shareCeiling = (state: ModelState) =>
    state.pacer
      ? Math.min(maxLimit, Math.max(minLimit, state.pacer.inFlightCap(capLatencyOf(state))))
      : quotaShare
        ? Math.max(minLimit, Math.ceil(state.fraction * quotaInFlight(state)))
        : Number.POSITIVE_INFINITY;
  /** With a pacer, the cap is the limit (the rate is the control); otherwise AIMD's limit, under the share's cap. */
  const effectiveLimit = (state: ModelState) =>
    state.pacer ? shareCeiling(state) : Math.max(minLimit, Math.floor(Math.min(state.limit, shareCeiling(state))));
  /** Starved: work waits for the limit or the buckets. Then it could use more (see reportOf). */
  const markStarved = (state: ModelState) => {
    state.starvedUntil = now() + Math.max(2000, latencyOf(state));
  };
  /**
   * What this member tells the group: the fraction of the quota it wants — all of it while starved
   * (work waits for its pace: it cannot know how much more it could use, since a queue consumer
   * receives only what it can start; max-min sharing gives it an equal part of what the others leave),
   * otherwise what it uses with room to grow — and its estimate of the quota.
   */
  const reportOf = (state: ModelState): MemberReport => {
    // The whole quota's need at the expected latency, not the measured one: equally busy members weigh the same.
    const latency = options.expectedLatencyMs ?? latencyOf(state);
    const need = state.pacer
      ? state.pacer.quotaInFlight(latency)
      : state.quota.requestsPerMinute
        ? (state.quota.requestsPerMinute * latency * shareHeadroom) / 60_000
        : maxLimit;
    const wants = now() < state.starvedUntil ? 1 : Math.min(1, ((demand(state) + 1) * 1.25) / Math.max(1, need));
    return {
      wants,
      scale: state.pacer?.scale ?? 1,
      scaleChangedAt: state.pacer?.scaleChangedAt ?? 0,
      successes: state.stats.successes,
      throttles: state.stats.throttles,
      windowCount: state.pacer?.windowCount() ?? 0,
    };
  };

  const pacerContext = (state: ModelState): PacerContext => ({
    latencyMs: latencyOf(state),
    leader: state.leader,
    starved: now() < state.starvedUntil,
    feedbackMs: state.feedbackMs,
  });

  /** Re-rate the tokens bucket to the member's share of the quota as the pacer knows it. */
  function rerateTokens(state: ModelState): void {
    const perMinute = state.quota.tokensPerMinute;
    if (!state.tokens || !perMinute) return;
    const rate = perMinute * state.fraction * (state.pacer?.scale ?? 1);
    if (Math.abs(rate - state.tokens.ratePerMinute) < 1e-6) return;
    state.tokens.setRate(rate, burstOf(rate, burstSeconds));
  }

  /** Take the member's current share (and the leader's estimate of the quota): the buckets are re-rated, keeping what they hold. */
  function rerate(state: ModelState): void {
    if (!quotaShare) return;
    const share = quotaShare.current(state.modelId, () => reportOf(state));
    const fraction = clampFraction(share.fraction);
    state.leader = share.leader;
    if (state.pacer) {
      // The leader's estimate (its probe as it ramps, or its answer to throttles) is the group's.
      if (
        share.leaderScale &&
        (share.leaderScale.changedAt !== state.adoptedLeaderChange ||
          Math.abs(share.leaderScale.scale - state.pacer.scale) > 1e-6)
      ) {
        state.adoptedLeaderChange = share.leaderScale.changedAt;
        state.pacer.adoptScale(share.leaderScale.scale, now());
      }
      if (share.feedbackMs !== undefined) state.feedbackMs = share.feedbackMs;
      if (share.others) state.pacer.observeGroup(share.others, pacerContext(state));
      state.pacer.setFraction(fraction);
      state.fraction = fraction;
      rerateTokens(state);
      return;
    }
    if (Math.abs(fraction - state.fraction) < 1e-3) return;
    // The in-flight limit follows the share in proportion: what AIMD learned (a limit below the
    // ceiling, for a quota configured too high) carries over, and a grown share is used at once.
    state.limit = Math.min(maxLimit, Math.max(minLimit, (state.limit * fraction) / state.fraction));
    state.fraction = fraction;
    for (const [bucket, perMinute] of [
      [state.requests, state.quota.requestsPerMinute],
      [state.tokens, state.quota.tokensPerMinute],
    ] as const) {
      if (bucket && perMinute) bucket.setRate(perMinute * fraction, burstOf(perMinute * fraction, burstSeconds));
    }
  }
  const bucketsCanPay = (state: ModelState, tokens: number) =>
    (state.pacer?.canGrant() ?? state.requests?.canTake(1) ?? true) && (state.tokens?.canTake(tokens) ?? true);
  const msUntilPayable = (state: ModelState, tokens: number) =>
    Math.max(state.pacer?.msUntilGrant() ?? state.requests?.msUntil(1) ?? 0, state.tokens?.msUntil(tokens) ?? 0);

  function nextLane(state: ModelState): Lane | undefined {
    const { interactive, bulk } = state.queues;
    if (interactive.length && (!bulk.length || state.interactiveStreak < interactiveBurst)) return "interactive";
    return bulk.length ? "bulk" : undefined;
  }

  function pump(state: ModelState): void {
    state.timer?.cancel();
    delete state.timer;
    rerate(state);
    for (;;) {
      const lane = nextLane(state);
      if (!lane) break;
      if (state.inFlight >= effectiveLimit(state)) {
        markStarved(state);
        break;
      }
      const waiter = state.queues[lane][0]!;
      if (!bucketsCanPay(state, waiter.tokens)) {
        markStarved(state);
        // With a shared quota, look again within a second: the share (the buckets' rate) may have grown.
        const dueMs = Math.max(1, msUntilPayable(state, waiter.tokens));
        state.timer = schedule(quotaShare ? Math.min(1000, dueMs) : dueMs, () => {
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
    // With a shared quota, waiters held by the limit look again within a second: the share may have grown.
    if (quotaShare && !state.timer && (state.queues.interactive.length || state.queues.bulk.length)) {
      state.timer = schedule(1000, () => {
        delete state.timer;
        pump(state);
      });
    }
    // After the grants: a message that just asked redeemed its reservation, and its token was still held for it.
    state.pacer?.hold(liveReservations(state));
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
    const grantedAt = state.pacer?.grant() ?? now();
    state.requests?.take(1);
    state.tokens?.take(estimatedTokens);
    state.inFlight++;
    state.stats.granted++;
    const charged = state.tokens?.charge(estimatedTokens) ?? estimatedTokens;
    let released = false;
    return {
      release(result) {
        if (released) return;
        released = true;
        state.inFlight--;
        if (result.outcome === "cancelled") {
          // Nothing reached Bedrock: no health, no rate signal; its token estimate is given back.
          state.tokens?.adjust(charged);
          pump(state);
          return;
        }
        const health: CallHealth = result.outcome === "error" ? "other" : result.outcome;
        state.circuit?.record(health, probe);
        // Model latency only: a throttle answers at once and would shrink the decrease window to nothing.
        if (result.outcome === "success" && result.latencyMs !== undefined) {
          state.latencyEwmaMs = 0.8 * state.latencyEwmaMs + 0.2 * result.latencyMs;
          state.successesMeasured++;
        }
        if (result.usage) {
          const used = result.usage.inputTokens + result.usage.outputTokens;
          state.stats.tokensUsed += used;
          state.tokens?.adjust(charged - used);
        }
        if (state.pacer && (result.outcome === "success" || result.outcome === "throttled")) {
          // The pacer's rate is the control: it answers throttles (and probes) itself; no AIMD on the limit.
          if (result.outcome === "success") state.stats.successes++;
          else state.stats.throttles++;
          const decision = state.pacer.record(result.outcome, grantedAt, pacerContext(state));
          if (decision.scaleChanged) rerateTokens(state);
        } else if (result.outcome === "success") {
          state.stats.successes++;
          // Grow only a limit there is demand for (at least half of it in use when this call ended,
          // as Netflix's AIMD limiter does): an idle process must not bank a huge limit.
          // Never beyond what the member's share of the quota sustains: the buckets pace it anyway.
          if ((demand(state) + 1) * 2 >= effectiveLimit(state) && state.limit < shareCeiling(state))
            state.limit = Math.min(
              maxLimit,
              shareCeiling(state),
              state.limit + (state.slowStart ? 1 : 1 / state.limit),
            );
          if (state.slowStart && state.limit >= Math.min(slowStartCeiling, shareCeiling(state)))
            state.slowStart = false;
        } else if (result.outcome === "throttled") {
          state.stats.throttles++;
          // The server's bucket is empty: ours should be too, or we would spend a burst on more 429s.
          state.requests?.drain();
          // One decrease per generation: a call admitted before the last decrease reports an
          // overload we already answered; only one admitted since says the new limit is too high.
          // And at most once per model latency: the quota's answer to a decrease takes that long.
          // A limit above the share's ceiling (a shrunk share) decreases from the ceiling: by the factor, no more.
          if (grantedAt > state.lastDecreaseAt && now() - state.lastDecreaseAt >= Math.max(1000, latencyOf(state))) {
            state.limit = Math.max(minLimit, Math.min(state.limit, shareCeiling(state)) * decreaseFactor);
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
    rerate(state);
    state.pacer?.hold(liveReservations(state));
    const wanted = demand(state);
    // With a pacer the cap is for calls at Bedrock: messages on their way to ask are bounded by the
    // tokens (below), not by the cap — a pipeline that takes seconds from receive to call would
    // otherwise keep fewer calls at Bedrock than the rate needs.
    const free = effectiveLimit(state) - (state.pacer ? wanted - liveReservations(state) : wanted);
    // Waiting and reserved calls will each take a request token before anything new can.
    const affordable =
      (state.pacer?.available() ?? Math.floor(state.requests?.available() ?? Infinity)) - (wanted - state.inFlight);
    const room = Math.max(0, Math.min(free, affordable, circuitRoom));
    // Asked with nothing free, by a consumer with work on the way or one whose last receive found
    // messages (a backlog: its calls may all have ended, or the quota's window holds it back): it is held back.
    if (room === 0 && (wanted > 0 || state.lastReservedAt > state.lastEmptyReceiveAt)) markStarved(state);
    return room;
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
      if (count > 0) state.lastReservedAt = at;
      else state.lastEmptyReceiveAt = at;
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
        // With a pacer: until a token beyond those promised to calls waiting or on their way.
        const promised = demand(state) - state.inFlight;
        const refillMs = Math.min(
          state.pacer?.msUntilTokens(promised + 1) ?? state.requests?.msUntil(1) ?? 0,
          quotaShare ? 1000 : Number.POSITIVE_INFINITY,
        );
        const probeMs = state.circuit?.msUntilProbe();
        const dueMs = Math.min(refillMs > 0 ? refillMs : 1000, probeMs ?? Number.POSITIVE_INFINITY);
        const timer = schedule(dueMs, wake);
      });
    },

    stats: () =>
      [...models.values()].map((state) => ({
        modelId: state.modelId,
        limit: Number((state.pacer ? shareCeiling(state) : state.limit).toFixed(2)),
        share: Number(state.fraction.toFixed(3)),
        scale: Number((state.pacer?.scale ?? 1).toFixed(3)),
        inFlight: state.inFlight,
        waiting: { interactive: state.queues.interactive.length, bulk: state.queues.bulk.length },
        ...state.stats,
        circuit: state.circuit?.state ?? "closed",
        circuitOpened: state.circuit?.opened ?? 0,
      })),
  };
}
