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
 *   since they began; at once when most calls are refused) mean the server's window is full. The
 *   scale falls in one step, at most by half:
 *   - when the window says so (what the group admitted within it, as the members' logs report it,
 *     is below the share of its calls the server admitted): to what the window admitted — a little
 *     under it once the window holds only the present pace's calls (under the edge, not on it);
 *   - when only the throttled share says so, just after a window the pace had kept without a
 *     throttle: by half. A quota that fell, or a foreign client that came, leaves a window full of
 *     the calls of before, and a member that paces as its old calls expire wins most of the freed
 *     slots — its throttled share says little of how much the other client wants. Halving (TCP's
 *     answer to a loss of unknown cause) finds room within an evaluation; the steps back up find the rest;
 *   - otherwise (the throttles of a pace not yet settled): to the share the server admitted.
 *   Then the throttles say nothing new for a window (the server's window holds the old rate's
 *   calls), or half of one when the window had not said it. A member whose recent calls still mostly
 *   got in (the server's window flows: a foreign client, not a lower quota) forgets the old pace's
 *   excess in its log instead of stalling until it ages out — a stall would leave the freed slots to nobody;
 * - back up to the configured quota (below it, the likelier truth: a foreign client leaves, a cut
 *   is lifted): slow start — while it has a backlog and keeps its pace without a throttle, the
 *   leader steps the scale up, capped at 1: the first step undoes the last fall (a halving doubles
 *   back), each ramped over two latencies and held for one; a throttle undoes the step and halves
 *   the next (to ×1.05: a pace a little under what a foreign client leaves climbs to it by small
 *   steps), waiting a window, twice as long after each failure (up to 8: a foreign client that
 *   stays costs a throttle or so every few windows); a step that holds doubles the next, at once;
 * - above the configured quota: while it has a backlog, the group spends all of its window and has
 *   no throttles, the leader probes — the first time by ×2, reached within a latency (until one
 *   has failed, the quota may be higher by any factor; with the window full of the pace, a right
 *   quota refuses its first excess calls at once), later ones creeping up by a quarter every two
 *   latencies. A sliding window proves a rate only once it has held a whole window of it, so a
 *   probe lasts a window; any throttle in the group undoes it (a member undoes it itself on its
 *   own throttle, a refresh before the leader's undo would reach it), the next waits twice as long
 *   (up to 16 windows) with half the step (to ×1.05); one that holds is followed by the next.
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
/** A share of throttled calls that no rounding at a window's edge explains: the decrease need not wait an evaluation. */
const OVERWHELMING_THROTTLES = 0.5;
/** A probe's first step up; the most windows between probes. */
const PROBE_FIRST_STEP = 2;
/** How fast a probe above the configured quota ramps, once one has failed: this much more every two latencies. */
const PROBE_RAMP_STEP = 0.25;
/** Failed probes halve the step, down to this: near the quota's edge, small steps find it (and cost few throttles). */
const PROBE_MIN_STEP = 1.05;
const PROBE_MAX_WINDOWS = 16;
/** The share of its window the group (as reported), and the leader itself, must have spent before a probe above the configured quota. */
const PROBE_GROUP_WINDOW_SPENT = 0.97;
const PROBE_OWN_WINDOW_SPENT = 0.99;
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
/** A decrease on a window that holds only the present pace's calls lands this much under what it admitted: under the edge, not on it. */
const SETTLED_MARGIN = 0.97;
/** A member whose recent calls got in at least this often sees a server window that flows (see forgiveFlowingWindow). */
const FLOWING_ADMITTED_SHARE = 0.5;

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
  /** This member's outcomes within the last evaluation (see {@link #forgiveFlowingWindow}). */
  #recent: { at: number; throttled: boolean }[] = [];
  #evaluationMs = 16_000;
  /** The scale this member kept before its last adoption, and when that was (see {@link #heldScale}). */
  #lastHeldScale = 1;
  #adoptedAt = Number.NEGATIVE_INFINITY;
  /** Until when this member makes no call: most of its calls were refused, and the window frees no slot before (see {@link record}). */
  #refusedUntil = Number.NEGATIVE_INFINITY;
  /** Until when the leader's probe, undone here by a throttle of this member's, is not adopted again. */
  #refusedProbeUntil = Number.NEGATIVE_INFINITY;

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
    const now = this.#now();
    const held = this.#heldScale();
    // This member's own throttle already undid the leader's probe: the leader's news of it (a
    // refresh behind) are stale until it says it undid it too.
    if (now < this.#refusedProbeUntil && scale > held + 1e-6) return;
    this.#refusedProbeUntil = Number.NEGATIVE_INFINITY;
    // A fall back to the last scale held is a probe undone (its excess is in the server's window:
    // the log pays it back), any other fall a decrease.
    this.#lastHeldScale = held;
    this.#adoptedAt = now;
    const decrease = scale < this.#scale && Math.abs(scale - held) > 1e-6;
    this.#scale = clampScale(scale);
    this.#scaleChangedAt = Math.max(this.#scaleChangedAt, changedAt);
    this.#rerate();
    if (decrease) this.#forgiveFlowingWindow();
  }

  /**
   * The last scale this member kept for a latency: before a probe, the probe's base. (A probe's
   * ramp reaches the members as steps a refresh apart, none of them kept that long.)
   */
  #heldScale(): number {
    return this.#now() - this.#adoptedAt >= this.#evaluationMs / 2 ? this.#scale : this.#lastHeldScale;
  }

  /**
   * Whether the server's window flows, by this member's calls within the last evaluation: most got
   * in (true), most were refused (false), or too few to tell (undefined).
   */
  #windowFlows(): boolean | undefined {
    this.#forgetOutcomesBefore(this.#now() - this.#evaluationMs);
    if (this.#recent.length < 3) return undefined;
    return this.#recent.filter((outcome) => !outcome.throttled).length / this.#recent.length >= FLOWING_ADMITTED_SHARE;
  }

  #forgetOutcomesBefore(horizon: number): void {
    while (this.#recent.length && this.#recent[0]!.at < horizon) this.#recent.shift();
  }

  /**
   * After a decrease, the log holds the old pace's grants, more than the new share's window: it
   * would stall the member until they age out. That is right when the server's window is full of
   * them (a quota lower than configured: it admits nothing of ours until they expire), and wrong
   * when it still admits most of our calls (a foreign client came: the server's window flows, its
   * slots free as fast as before, and a stall leaves them to nobody). So while the member's recent
   * calls mostly got in, the log keeps only the new share's worth: the pace goes on at the new rate.
   */
  #forgiveFlowingWindow(): void {
    if (this.#windowFlows() !== true) return;
    this.#windowRoom();
    const budget = this.#windowBudget();
    if (this.#grants.length <= budget) return;
    // As if the member had kept the new pace all along: its grants evenly spread over the window, so
    // the oldest ages out one spacing from now and the next on the new pace (the newest kept ones
    // would hold the window closed for as long as the old pace took to grant them).
    const spacing = this.#countedMs() / budget;
    const now = this.#now();
    this.#grants = Array.from({ length: budget }, (_, i) => now - (budget - i) * spacing + spacing / 2);
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
    return this.available() >= 1 && this.#windowRoom() >= 1 && this.#now() >= this.#refusedUntil;
  }

  /** Milliseconds until the bucket holds `count` tokens: when a consumer may receive one more than it has promised. */
  msUntilTokens(count: number): number {
    return this.#bucket.msUntil(count);
  }

  /** Milliseconds until a call may start (0: now): a token, and room in the window. */
  msUntilGrant(): number {
    const count = 1;
    const bucket = Math.max(this.#bucket.msUntil(count), Math.ceil(this.#refusedUntil - this.#now()));
    if (this.#windowRoom() >= count) return bucket;
    // The window is full: until enough of its oldest grants age out.
    const excess = this.#grants.length - this.#windowBudget() + count;
    const freedAt = (this.#grants[excess - 1] ?? this.#now()) + this.#countedMs();
    return Math.max(bucket, Math.ceil(freedAt - this.#now()));
  }

  /** This member's calls the server admitted within the quota's last window (its log; throttled calls leave it). */
  windowCount(): number {
    this.#windowRoom();
    return this.#grants.length;
  }

  /** A call starts: it takes a token and counts in the window. Returns when (for {@link record}). */
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
    this.#recent.push({ at: this.#now(), throttled: outcome === "throttled" });
    this.#forgetOutcomesBefore(this.#now() - this.#evaluationMs);
    if (outcome === "throttled") {
      this.#own.throttles++;
      // A throttle during the leader's probe: the probe found the quota's edge. Back to the scale
      // before it at once, a refresh or two before the leader's undo would arrive.
      const held = this.#heldScale();
      if (!context.leader && this.#scale > held + 1e-6) {
        this.#lastHeldScale = held;
        this.#adoptedAt = this.#now();
        this.#scale = held;
        this.#refusedProbeUntil = this.#now() + 2 * this.#evaluationMs;
        this.#rerate();
      }
      // The server did not count this call: neither does the window (or the log would hold back calls the quota allows).
      const index = this.#grants.lastIndexOf(grantedAt);
      if (index >= 0) this.#grants.splice(index, 1);
      // The server's window is full: our bucket should be empty too, or the next tokens buy more 429s —
      // all but the tokens held for messages already on their way (dropping those would cost the pace
      // a second or more of calls for one throttle at a window's edge).
      this.#bucket.drain(this.#held);
      // Most of its recent calls refused: the server's window is full, and its next slot frees when
      // the oldest calls in it expire — this member's began alongside the others', so it waits for
      // its own oldest to age out instead of spending its pace on more refusals.
      if (this.#windowFlows() === false) {
        this.#windowRoom();
        this.#refusedUntil = Math.max(this.#refusedUntil, (this.#grants[0] ?? this.#now()) + this.#countedMs());
      }
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
    this.#evaluationMs = evaluationMs;
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
    const firstThrottle = this.#history.findIndex((count) => count.at >= base.at && count.throttles > base.throttles);
    const streak = firstThrottle > 0 ? this.#history[firstThrottle - 1]! : base;
    const calls = throttles + Math.max(0, total.successes - streak.successes);
    // Throttles sustained for an evaluation: a whole one since the last change, and they began in
    // its first half (a burst at a window's edge, or a probe's last excess calls, is over by then).
    const sustained = firstThrottle >= 0 && now - base.at >= evaluationMs && streak.at - base.at <= evaluationMs / 2;

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
        ? Math.max(1000, context.latencyMs, context.feedbackMs ?? 0)
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
      // Sustained for an evaluation — or at once when most calls are refused (no window's edge does that).
      (sustained || (throttles / calls >= OVERWHELMING_THROTTLES && now - streak.at >= (context.feedbackMs ?? 0))) &&
      now >= this.#quietUntil
    ) {
      // A throttle says the server's window is full: what the group had admitted within the last
      // window is then the quota as it really is (for this group: a foreign client's part is not in it).
      const admittedInWindow = this.windowCount() + this.#others.windowCount;
      const measured = admittedInWindow / ((this.#quota * this.#windowMs) / 60_000);
      // The share of the calls the server admitted since the throttles began: against a saturated
      // window, the real rate over the sent one. (Alone, or the store down: the only measure.)
      const admittedFraction = this.#scale * (1 - throttles / calls);
      // A window and an evaluation after the last change, the window holds only the present pace's calls.
      const settled = now - this.#scaleChangedAt >= this.#windowMs + evaluationMs;
      const windowSaysSo = measured <= admittedFraction;
      const estimate =
        admittedInWindow === 0
          ? admittedFraction
          : now - this.#probeFailedAt < this.#windowMs + evaluationMs
            ? // Soon after a failed probe, the larger: a window left under-full by the stall that paid
              // the probe's excess back would read as a lower quota than the server keeps.
              Math.max(measured, admittedFraction)
            : windowSaysSo
              ? measured * (settled ? SETTLED_MARGIN : 1)
              : settled
                ? this.#scale * 0.5
                : admittedFraction;
      // The server's window holds the old rate's calls for a window more: its throttles meanwhile
      // are not news (one decrease per window, as AIMD's one per generation of calls) — unless the
      // window did not say the quota fell, only the throttled share did: then the window was still
      // the old rate's, and half of one later it speaks (a quota that fell by half has drained to it).
      this.#quietUntil = now + (windowSaysSo ? this.#windowMs : this.#windowMs / 2);
      const before = this.#scale;
      const decision = this.#setScale(Math.min(this.#scale, Math.max(this.#scale * 0.5, estimate)), now);
      this.#forgiveFlowingWindow();
      // The way back up starts by undoing the fall (capped at ×2): a cut lifted, or a foreign client
      // gone, is then one step away; if it is not, the step's first throttle undoes it and halves the next.
      this.#probes.restart(Math.max(1, this.#probes.windows));
      this.#recovery.restart(1, before / this.#scale);
      return decision;
    }
    // A probe only after a window busy at the pace: the server's window then holds the pace's
    // traffic, so a throttle-free probe says the quota is higher (not that the window was still filling).
    // And only while the group spends all of the quota it has (its window logs hold ≥ 97 % of it, as
    // the others last reported theirs; the leader's own, exact, ≥ 99 %): a group that cannot (a host
    // slower than the pace) would find no throttle above it, and prove nothing; and what the window
    // lacks is what a probe's first calls get in with before its first throttle, so many more in
    // flight at a right quota (with 3 % of 400 free, 12: 1.31× the need in the bench).
    const spent =
      (this.windowCount() + this.#others.windowCount) / ((this.#quota * this.#scale * this.#windowMs) / 60_000);
    const recovery = this.#scale < 1 - 1e-6;
    // Back toward the configured quota, a backlog held back by the pace is enough: the window
    // still holds the lower rate's calls of before the last step (waiting for it to fill would make
    // each step of the way back a window long), and at a low rate a few seconds' count is too coarse
    // to say whether the pace is kept. A host slower than the pace climbs back to the configured
    // quota without proof — which is the likelier truth — and the throttles say so if it is not.
    const ownSpent = this.windowCount() / this.#windowBudget();
    const keepsPace = recovery || (spent >= PROBE_GROUP_WINDOW_SPENT && ownSpent >= PROBE_OWN_WINDOW_SPENT);
    const ladder = recovery ? this.#recovery : this.#probes;
    if (
      context.starved &&
      now - this.#busySince >= PROBE_AFTER_BUSY_WINDOWS * this.#windowMs &&
      keepsPace &&
      throttles === 0 &&
      this.#scale < MAX_SCALE &&
      // (Back toward the configured quota, after a step that held the next goes at once: its proof was the wait.)
      now - this.#scaleChangedAt >=
        (recovery && ladder.windows === 0 ? 0 : Math.max(ladder.windows * this.#windowMs, evaluationMs))
    ) {
      const target = Math.min(recovery ? 1 : MAX_SCALE, this.#scale * ladder.step);
      this.#probe = {
        before: this.#scale,
        target,
        startedAt: now,
        rampMs: this.#rampMs(recovery, target, context.latencyMs),
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

  /**
   * How long a probe takes to reach its target. Back toward the configured quota: two latencies.
   * Above it: until a probe has failed, the quota may be higher by any factor (configured too low),
   * and the first probe reaches ×2 in one latency — with the server's window full of the pace, its
   * first excess calls are refused at once, so it costs a handful of throttles against a right
   * quota; after one has failed, the edge is known to be near, and later probes creep up on it (a
   * quarter every two latencies): a few throttles each.
   */
  #rampMs(recovery: boolean, target: number, latencyMs: number): number {
    if (recovery) return 2 * latencyMs;
    if (!this.#probes.everFailed) return latencyMs;
    return 2 * latencyMs * Math.max(1, (target / this.#scale - 1) / PROBE_RAMP_STEP);
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
  /** A probe of this ladder has failed (the quota's edge was found once). */
  everFailed = false;
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
    this.everFailed = true;
    this.windows = Math.min(this.#maxWindows, Math.max(this.#minWindowsAfterFailure, this.windows * 2));
    this.step = Math.max(this.#minStep, 1 + (this.step - 1) / 2);
  }
  held(): void {
    this.windows = 0;
    this.step = Math.min(2, (this.step - 1) * 2 + 1);
  }
  /** After a decrease: the first step again (or `step`, when smaller), waiting `windows`. */
  restart(windows: number, step = this.#firstStep): void {
    this.step = Math.max(this.#minStep, Math.min(this.#firstStep, step));
    this.windows = windows;
  }
}

const clampScale = (scale: number) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
