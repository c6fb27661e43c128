import { TokenBucket } from "./token-bucket.ts";

/**
 * One member's pace on a shared requests-per-minute quota: it spends its share exactly, never more.
 *
 * - Rate: quota × share × scale. The share comes from the members' shared view (quota-share.ts);
 *   the scale is what the quota really is against what it was configured as (1 until throttles
 *   or a probe say otherwise), learned by the group's leader and adopted by every member.
 * - A token bucket spreads the calls evenly (a small burst absorbs the pipeline's own jitter),
 *   and a log of the member's own grants keeps it within its share of the quota's window as the
 *   server counts it (Bedrock: no more than N in any 60 s), so a burst at the start — a bucket
 *   full after idling — is paid back inside the window instead of landing on the server as 429s.
 * - In flight: what the rate sustains by Little's law (rate × latency), with headroom for the
 *   latency's jitter — a cap, not an AIMD limit: the rate is the control, so a burst of throttles
 *   lowers the rate in proportion to what the server admitted, and never collapses the calls in flight.
 *
 * The scale is the safety net for a quota configured wrong, or shared with a foreign client. One
 * member decides it for the group — the leader (see quota-share.ts), from the group's successes
 * and throttles as the members' heartbeats report them, and its own — and every member adopts it:
 * - down: throttles sustained for an evaluation (two latencies: 3 or more, over 10 % of the calls
 *   since they began) mean the server's window is full. The scale falls, in one step (at most by
 *   half), to the lower of what the group had admitted within the last window (the members' window
 *   logs, as their heartbeats report them) and the share of its calls the server admitted since
 *   the throttles began: just after a quota fell, the window still holds the calls of before, and
 *   only the throttled share says how far. Then the throttles say nothing new for a window (the
 *   server's window holds the old rate's calls), or half of one when the window had not said it;
 * - back up to the configured quota (below it, the likelier truth: a foreign client leaves, a cut
 *   is lifted): slow start — while it has a backlog and keeps its pace without a throttle, the
 *   leader doubles the scale, capped at 1, each step held for an evaluation; a throttle undoes the
 *   step and halves the next (to ×1.05: a pace a little under what a foreign client leaves climbs
 *   to it by small steps), waiting a window, twice as long after each failure (up to 8: a foreign
 *   client that stays costs a throttle or so every few windows); a step that holds doubles the next;
 * - above the configured quota: while it has a backlog, the group spends all of its window and has
 *   no throttles, the leader probes — the first time by ×2, ramping up by a quarter every two
 *   latencies, so against a right quota its first throttle comes after a handful of calls too many.
 *   A sliding window proves a rate only once it has held a whole window of it, so a probe lasts a
 *   window; any throttle in the group undoes it at once, the next waits twice as long (up to 16
 *   windows) with half the step (to ×1.05); one that holds is followed by the next at once.
 */
export interface QuotaPacerOptions {
  /** The model's requests per minute, as configured (for the whole group). */
  requestsPerMinute: number;
  /** The window the server counts the quota over (Bedrock: a minute). */
  windowMs?: number;
  /** The bucket's burst, in ms of its rate (one request at least). */
  burstMs?: number;
  /** What the bucket holds at first, in ms of its rate (one request at least). */
  startBurstMs?: number;
  /** In flight, as a multiple of what the rate sustains (latency jitter). */
  headroom?: number;
  now: () => number;
}

/** How long a grant still counts after the window, as a fraction of it: members' clocks and the network are not the server's. */
const WINDOW_GUARD = 0.005;
const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
/** Throttles that say the rate is wrong (not a rounding at a window's edge): this many, and this share of a window's calls. */
const DECREASE_MIN_THROTTLES = 3;
const DECREASE_MIN_RATIO = 0.1;
/** A probe's first step up; the most windows between probes. */
const PROBE_FIRST_STEP = 2;
/** How fast a probe above the configured quota ramps: this much more every two latencies. */
const PROBE_RAMP_STEP = 0.25;
/** Failed probes halve the step, down to this: near the quota's edge, small steps find it (and cost few throttles). */
const PROBE_MIN_STEP = 1.05;
const PROBE_MAX_WINDOWS = 16;
/** Windows busy at the pace (a backlog all along, the window full) before a probe. */
const PROBE_AFTER_BUSY_WINDOWS = 1;
/**
 * Below the configured quota the configured one is the likelier truth (a foreign client leaves, a
 * cut is lifted): probes double toward it (halving to ×1.05 when one fails, doubling again when one
 * holds), and after a failure wait a window, twice as long after each further one, up to this many
 * (a foreign client that stays costs a throttle or so now and then).
 */
const RECOVERY_STEP = 2;
const RECOVERY_MIN_STEP = 1.05;
const RECOVERY_MAX_WINDOWS = 8;

/** The group's calls so far (this member's and the others' as last reported). */
interface GroupCount {
  at: number;
  successes: number;
  throttles: number;
}

/** What the pacer's decisions need to know of the member. */
export interface PacerContext {
  /** The model's latency now (the evaluation window is two of them). */
  latencyMs: number;
  /** This member decides the scale for the group (see quota-share.ts). */
  leader: boolean;
  /** It has work the pace holds back: only then is a probe worth its throttles. */
  starved: boolean;
  /** How long the others' counts take to reach this member (its membership's refreshes): a window lasts that at least. */
  feedbackMs?: number | undefined;
}

export interface PacerDecision {
  /** The scale changed (a decrease, a probe, or a probe undone): the member publishes it. */
  scaleChanged: boolean;
}

export class QuotaPacer {
  readonly #quota: number;
  readonly #windowMs: number;
  readonly #burstMs: number;
  readonly #headroom: number;
  readonly #now: () => number;
  readonly #bucket: TokenBucket;
  /** This member's grants within the window (and its guard), oldest first. */
  #grants: number[] = [];
  #fraction: number;
  #scale = 1;
  /** When the scale last changed (a decision of this member, or one adopted). */
  #scaleChangedAt: number;
  #probe:
    | { before: number; target: number; startedAt: number; rampMs: number; throttles: number; recovery: boolean }
    | undefined;
  /** Messages received and on their way to ask for a permit: the bucket keeps a token for each. */
  #held = 0;
  /** Since when this member has been held back by its pace without a break (a backlog all along). */
  #busySince = Number.POSITIVE_INFINITY;
  #probeFailedAt = Number.NEGATIVE_INFINITY;
  /** Until when throttles say nothing new: a failed probe's excess is still in the server's window. */
  #quietUntil = Number.NEGATIVE_INFINITY;
  /** The probes above the configured quota, and the steps back up to it from below (see {@link RECOVERY_STEP}). */
  #probes = new ProbeLadder(PROBE_FIRST_STEP, PROBE_MIN_STEP, PROBE_MAX_WINDOWS, 0);
  #recovery = new ProbeLadder(RECOVERY_STEP, RECOVERY_MIN_STEP, RECOVERY_MAX_WINDOWS, 1);
  #own = { successes: 0, throttles: 0 };
  #others = { successes: 0, throttles: 0, windowCount: 0 };
  /** The group's cumulative counts over the last evaluation windows, oldest first. */
  #history: GroupCount[] = [];

  constructor(options: QuotaPacerOptions, fraction: number) {
    this.#quota = options.requestsPerMinute;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#burstMs = options.burstMs ?? 1000;
    this.#headroom = options.headroom ?? 1.15;
    this.#now = options.now;
    this.#fraction = fraction;
    this.#scaleChangedAt = this.#now();
    const rate = this.rate();
    this.#bucket = new TokenBucket(
      rate,
      this.#burstOf(rate, this.#burstMs),
      this.#now,
      this.#burstOf(rate, options.startBurstMs ?? 0),
    );
  }

  get fraction(): number {
    return this.#fraction;
  }
  /** The quota as learned against the configured one, as the pace runs now (a probe's ramp included). */
  get scale(): number {
    return this.#currentScale();
  }
  /** When the scale last changed: the group adopts the leader's scale by this. */
  get scaleChangedAt(): number {
    return this.#scaleChangedAt;
  }

  /** Requests per minute this member spends: its share of the quota as it really is. */
  rate(): number {
    return this.#quota * this.#fraction * this.#currentScale();
  }

  /**
   * The scale the pace runs at now: a probe ramps from the scale before it to its target over two
   * latencies, so against a right quota its first throttles undo it before the calls in flight have grown.
   */
  #currentScale(): number {
    const probe = this.#probe;
    if (!probe) return this.#scale;
    const ramp = Math.min(1, (this.#now() - probe.startedAt) / probe.rampMs);
    return probe.before + (probe.target - probe.before) * ramp;
  }

  /** Calls in flight the rate sustains at `latencyMs` (Little's law), with headroom: one at least. */
  inFlightCap(latencyMs: number): number {
    return Math.max(1, Math.ceil((this.rate() * latencyMs * this.#headroom) / 60_000));
  }

  /** What the whole quota (as it really is) sustains in flight at `latencyMs`, with headroom. */
  quotaInFlight(latencyMs: number): number {
    return (this.#quota * this.#currentScale() * latencyMs * this.#headroom) / 60_000;
  }

  setFraction(fraction: number): void {
    if (Math.abs(fraction - this.#fraction) < 1e-6) return;
    this.#fraction = fraction;
    this.#rerate();
  }

  /** The leader's scale, adopted: its probe (or decision) is the group's. */
  adoptScale(scale: number, changedAt: number): void {
    if (Math.abs(scale - this.#scale) < 1e-6) return;
    this.#scale = clampScale(scale);
    this.#scaleChangedAt = Math.max(this.#scaleChangedAt, changedAt);
    this.#rerate();
  }

  /**
   * `count` messages were received and are on their way to ask for a permit (a queue consumer's
   * reservations). The tokens that accrue meanwhile are kept for them, beyond the burst: a
   * pipeline that takes a while from receiving a message to calling the model (a busy host) would
   * otherwise lose the pace's tokens to the bucket's cap, and never catch up. (The window log
   * still bounds what they may spend.)
   */
  hold(count: number): void {
    if (count === this.#held) return;
    this.#held = count;
    this.#rerate();
  }

  /**
   * What a queue consumer may receive now: the bucket's whole tokens. The window is checked when
   * a call asks ({@link canGrant}), not here: messages received now are granted later, when the
   * window's oldest grants have aged out — charging them to today's window would hold the pace
   * below the quota by what is on its way.
   */
  available(): number {
    // A ramping probe: the bucket follows the ramp.
    if (this.#probe) this.#rerate();
    return Math.max(0, Math.floor(this.#bucket.available() + 1e-9));
  }

  /** A call may start now: a token, and room in the window. */
  canGrant(): boolean {
    return this.available() >= 1 && this.#windowRoom() >= 1;
  }

  /** Milliseconds until the bucket holds `count` tokens: when a consumer may receive one more than it has promised. */
  msUntilTokens(count: number): number {
    return this.#bucket.msUntil(count);
  }

  /** Milliseconds until a call may start (0: now): a token, and room in the window. */
  msUntilGrant(): number {
    const count = 1;
    const bucket = this.#bucket.msUntil(count);
    if (this.#windowRoom() >= count) return bucket;
    // The window is full: until enough of its oldest grants age out.
    const excess = this.#grants.length - this.#windowBudget() + count;
    const freedAt = (this.#grants[excess - 1] ?? this.#now()) + this.#countedMs();
    return Math.max(bucket, Math.ceil(freedAt - this.#now()));
  }

  /** A call starts: it takes a token and counts in the window. Returns when (for {@link record}). */
  /** This member's calls the server admitted within the quota's last window (its log; throttled calls leave it). */
  windowCount(): number {
    this.#windowRoom();
    return this.#grants.length;
  }

  grant(): number {
    const at = this.#now();
    this.#bucket.take(1);
    this.#grants.push(at);
    return at;
  }

  /** The other members' successes and throttles so far, as their heartbeats report them (cumulative). */
  observeGroup(
    others: { successes: number; throttles: number; windowCount?: number | undefined },
    context: PacerContext,
  ): PacerDecision {
    this.#others = {
      successes: Math.max(0, others.successes),
      throttles: Math.max(0, others.throttles),
      windowCount: Math.max(0, others.windowCount ?? 0),
    };
    return this.#decide(context);
  }

  /** A call's outcome (successes and throttles; other failures say nothing about the quota). */
  record(outcome: "success" | "throttled", grantedAt: number, context: PacerContext): PacerDecision {
    if (outcome === "throttled") {
      this.#own.throttles++;
      // The server did not count this call: neither does the window (or the log would hold back calls the quota allows).
      const index = this.#grants.lastIndexOf(grantedAt);
      if (index >= 0) this.#grants.splice(index, 1);
      // The server's window is full: our bucket should be empty too, or the next tokens buy more 429s —
      // all but the tokens held for messages already on their way (dropping those would cost the pace
      // a second or more of calls for one throttle at a window's edge).
      this.#bucket.drain(this.#held);
    } else {
      this.#own.successes++;
    }
    return this.#decide(context);
  }

  /** The leader's decision on the group's counts: undo or confirm a probe, decrease, or probe. */
  #decide(context: PacerContext): PacerDecision {
    const now = this.#now();
    const total: GroupCount = {
      at: now,
      successes: this.#own.successes + this.#others.successes,
      throttles: this.#own.throttles + this.#others.throttles,
    };
    const evaluationMs = Math.max(1000, 2 * context.latencyMs, context.feedbackMs ?? 0);
    this.#history.push(total);
    if (!context.starved) this.#busySince = Number.POSITIVE_INFINITY;
    else this.#busySince = Math.min(this.#busySince, now);
    while (this.#history.length > 1 && this.#history[1]!.at <= now - evaluationMs) this.#history.shift();
    if (!context.leader) {
      this.#probe = undefined;
      return { scaleChanged: false };
    }
    // Only what happened since the last change (and the others' reports of it have arrived) speaks of the scale now.
    const since = Math.max(now - evaluationMs, this.#scaleChangedAt + (context.feedbackMs ?? 0), this.#quietUntil);
    const base = this.#history.findLast((count) => count.at <= since) ?? this.#history[0]!;
    const throttles = Math.max(0, total.throttles - base.throttles);
    // The calls since the throttles began (the last count before the first of them): before a quota
    // falls the calls all succeed, and counting them would say it fell by less than it did.
    const streak = this.#history.findLast((count) => count.at >= base.at && count.throttles === base.throttles) ?? base;
    const calls = throttles + Math.max(0, total.successes - streak.successes);

    if (this.#probe) {
      // Any throttle in the group: the probe found the quota's edge. Back to the scale before it;
      // the next probe waits twice as long, with half the step.
      if (total.throttles > this.#probe.throttles) {
        const { before, recovery } = this.#probe;
        this.#probe = undefined;
        this.#probeFailedAt = now;
        // The probe's excess stays in the server's window (and in ours) for a window: the throttles
        // it causes meanwhile are the probe's, not a sign that the quota is lower than before it.
        this.#quietUntil = now + this.#windowMs;
        (recovery ? this.#recovery : this.#probes).failed();
        return this.#setScale(before, now);
      }
      // Only a whole window at the probed rate (after its ramp) proves it: the server's window then
      // holds nothing older. Back toward the configured quota, an evaluation without a throttle is
      // enough to go on (slow start): the configured quota is the likelier truth, and a throttle
      // on the way up undoes the last step as it would a probe.
      const proofMs = this.#probe.recovery
        ? Math.max(1000, 2 * context.latencyMs)
        : Math.max(this.#windowMs, evaluationMs);
      if (now - this.#probe.startedAt < this.#probe.rampMs + proofMs) return { scaleChanged: false };
      // A whole window at the probed rate without a throttle: the quota is at least that. The next
      // probe at once, by more (back toward the configured quota: twice the last step, up to ×2).
      (this.#probe.recovery ? this.#recovery : this.#probes).held();
      this.#probe = undefined;
      this.#scaleChangedAt = now;
      return { scaleChanged: false };
    }
    if (
      throttles >= DECREASE_MIN_THROTTLES &&
      throttles / calls > DECREASE_MIN_RATIO &&
      now - streak.at >= evaluationMs &&
      now >= this.#quietUntil
    ) {
      this.#probes.restart(Math.max(1, this.#probes.windows));
      this.#recovery.restart(1);
      // A throttle says the server's window is full: what the group had admitted within the last
      // window is then the quota as it really is (for this group: a foreign client's part is not in it).
      // Without the others' counts (alone, or the store down), the admitted fraction of the calls:
      // against a saturated window it is the real rate over the sent one.
      // Soon after a failed probe, the larger of that and the admitted fraction: a window left
      // under-full by the dip that paid the probe's excess back would read as a lower quota than the server keeps.
      const admittedInWindow = this.windowCount() + this.#others.windowCount;
      const measured = admittedInWindow / ((this.#quota * this.#windowMs) / 60_000);
      // (No window counts at all — a pacer told of outcomes only: the admitted fraction.)
      const admittedFraction = this.#scale * (1 - throttles / calls);
      // Otherwise the lower of the two: soon after the quota fell (a foreign client came) the window
      // still holds the calls admitted before, and only the throttled share says how far it fell.
      const estimate =
        admittedInWindow === 0
          ? admittedFraction
          : now - this.#probeFailedAt < this.#windowMs + evaluationMs
            ? Math.max(measured, admittedFraction)
            : Math.min(measured, admittedFraction);
      // The server's window holds the old rate's calls for a window more: its throttles meanwhile
      // are not news (one decrease per window, as AIMD's one per generation of calls) — unless the
      // window did not say the quota fell, only the throttled share did: then the window was still
      // the old rate's, and half of one later it speaks (a quota that fell by half has drained to it).
      this.#quietUntil = now + (measured <= estimate ? this.#windowMs : this.#windowMs / 2);
      return this.#setScale(Math.min(this.#scale, Math.max(this.#scale * 0.5, estimate)), now);
    }
    // A probe only after a window busy at the pace: the server's window then holds the pace's
    // traffic, so a throttle-free probe says the quota is higher (not that the window was still filling).
    // And only while the group spends all of the quota it has (its window logs hold ≥ 97 % of it): a
    // group that cannot (a host slower than the pace) would find no throttle above it, and prove nothing.
    const spent =
      (this.windowCount() + this.#others.windowCount) / ((this.#quota * this.#scale * this.#windowMs) / 60_000);
    const recovery = this.#scale < 1 - 1e-6;
    // Back toward the configured quota, a backlog held back by the pace is enough: the window
    // still holds the lower rate's calls of before the last step (waiting for it to fill would make
    // each step of the way back a window long), and at a low rate a few seconds' count is too coarse
    // to say whether the pace is kept. A host slower than the pace climbs back to the configured
    // quota without proof — which is the likelier truth — and the throttles say so if it is not.
    const keepsPace = recovery || spent >= 0.97;
    const ladder = recovery ? this.#recovery : this.#probes;
    if (
      context.starved &&
      now - this.#busySince >= PROBE_AFTER_BUSY_WINDOWS * this.#windowMs &&
      keepsPace &&
      throttles === 0 &&
      this.#scale < MAX_SCALE &&
      now - this.#scaleChangedAt >= Math.max(ladder.windows * this.#windowMs, evaluationMs)
    ) {
      const target = Math.min(recovery ? 1 : MAX_SCALE, this.#scale * ladder.step);
      this.#probe = {
        before: this.#scale,
        target,
        startedAt: now,
        // Above the configured quota, at most a quarter more every two latencies, however far the
        // probe goes: the calls beyond a right quota before its first throttle arrives stay a handful.
        rampMs: 2 * context.latencyMs * (recovery ? 1 : Math.max(1, (target / this.#scale - 1) / PROBE_RAMP_STEP)),
        throttles: total.throttles,
        recovery,
      };
      this.#scale = target;
      this.#scaleChangedAt = now;
      this.#rerate();
      return { scaleChanged: true };
    }
    return { scaleChanged: false };
  }

  #setScale(scale: number, at: number): PacerDecision {
    this.#scale = clampScale(scale);
    this.#scaleChangedAt = at;
    this.#rerate();
    return { scaleChanged: true };
  }

  #rerate(): void {
    const rate = this.rate();
    this.#bucket.setRate(rate, this.#burstOf(rate, this.#burstMs) + this.#held);
  }

  #burstOf(perMinute: number, ms: number): number {
    return Math.max(1, (perMinute * ms) / 60_000);
  }

  #countedMs(): number {
    return this.#windowMs * (1 + WINDOW_GUARD);
  }

  /** This member's share of the quota's window: the most grants it may have in any window. */
  #windowBudget(): number {
    return Math.max(1, Math.floor((this.rate() * this.#windowMs) / 60_000));
  }

  #windowRoom(): number {
    const cutoff = this.#now() - this.#countedMs();
    while (this.#grants.length && this.#grants[0]! <= cutoff) this.#grants.shift();
    return this.#windowBudget() - this.#grants.length;
  }
}

/**
 * One direction's probes: how far the next one steps, and how many windows after the last change
 * it waits. A failed probe halves the step (down to `minStep`) and doubles the wait (at least
 * `minWindowsAfterFailure`, at most `maxWindows`); one that holds doubles the step (up to ×2) and
 * lets the next go at once.
 */
class ProbeLadder {
  step: number;
  windows = 1;
  readonly #firstStep: number;
  readonly #minStep: number;
  readonly #maxWindows: number;
  readonly #minWindowsAfterFailure: number;
  constructor(firstStep: number, minStep: number, maxWindows: number, minWindowsAfterFailure: number) {
    this.step = this.#firstStep = firstStep;
    this.#minStep = minStep;
    this.#maxWindows = maxWindows;
    this.#minWindowsAfterFailure = minWindowsAfterFailure;
  }
  failed(): void {
    this.windows = Math.min(this.#maxWindows, Math.max(this.#minWindowsAfterFailure, this.windows * 2));
    this.step = Math.max(this.#minStep, 1 + (this.step - 1) / 2);
  }
  held(): void {
    this.windows = 0;
    this.step = Math.min(2, (this.step - 1) * 2 + 1);
  }
  /** After a decrease: the first step again, waiting `windows`. */
  restart(windows: number): void {
    this.step = this.#firstStep;
    this.windows = windows;
  }
}

const clampScale = (scale: number) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
