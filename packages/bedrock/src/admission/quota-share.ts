/**
 * The quota as a shared resource. Every process (or Lambda container) calling a model is a member
 * of that model's quota: it publishes what it wants every few seconds and reads the others', and takes
 * its max-min fair share of the quota, so the members' pacers together spend the quota exactly
 * instead of each believing it has all of it (and discovering the truth through throttles). One
 * member (the lowest id) leads: it probes whether the quota is really what was configured, and the
 * others adopt its estimate (see quota-pacer.ts).
 *
 * The governor consumes only {@link QuotaShare}; where the members are kept is a
 * {@link QuotaMemberStore} (the job store's table in Quire: see @quire/jobs createQuotaMemberStore).
 * A failing store never stops calls: the last known members are used for a few refreshes, then
 * the configured fallback fraction (the quota ÷ the stages sharing the model), with the pacer's
 * throttle response as the safety net.
 */

/** What a member tells the others about itself at each heartbeat. */
export interface MemberReport {
  /**
   * The fraction of the quota [0, 1] it could use now: 1 while work waits for its pace (it has a
   * backlog and cannot know how much: a queue consumer receives only what it can start), otherwise
   * what it uses, with room to grow.
   */
  wants: number;
  /** Its estimate of the quota as it really is, against the configured one (see quota-pacer.ts). */
  scale: number;
  /** When that estimate last changed (epoch ms of the member's clock). */
  scaleChangedAt: number;
  /** Its successful calls and throttles so far (cumulative): the leader decides on the group's. */
  successes: number;
  throttles: number;
  /** Its calls the server admitted within the quota's last window (its pacer's window log). */
  windowCount: number;
}

/** What a governor asks: its fraction of a model's quota, and the group's estimate of the quota. */
export interface QuotaShare {
  /**
   * This member's fraction (0, 1] of the model's quota now; `report` is read again whenever the
   * member publishes (an idle member is not asked). `leader`: this member probes the quota for the
   * group (one member does, so a probe is the group's: see quota-pacer.ts); `leaderScale`: the
   * leader's estimate of the quota, which every member adopts when it changes.
   */
  current(modelId: string, report: () => MemberReport): QuotaShareView;
}

/** A member's view of the shared quota (see {@link QuotaShare.current}). */
export interface QuotaShareView {
  fraction: number;
  leader: boolean;
  leaderScale?: { scale: number; changedAt: number } | undefined;
  /** The other live members' successes and throttles so far, as last read (cumulative). */
  others?: { successes: number; throttles: number; windowCount: number } | undefined;
  /** How long another member's throttle takes to reach this one (two refreshes): a probe lasts that at least. */
  feedbackMs?: number | undefined;
}

/** A constant share (a fixed split, or 1: alone), for tests and for hosts without a shared view. */
export const fixedQuotaShare = (fraction: number): QuotaShare => ({
  current: () => ({ fraction, leader: true }),
});

/** One member of a model's quota as the store holds it. */
export interface QuotaMember {
  memberId: string;
  /** What it wanted at its last heartbeat: a fraction of the quota (see {@link MemberReport}). */
  demand: number;
  /** The fraction it took at its last heartbeat: what it claims of the quota. */
  fraction: number;
  /** When it last wrote (epoch ms). */
  heartbeatAt: number;
  /** Its estimate of the quota against the configured one (1 when absent), and when it last changed. */
  scale?: number | undefined;
  scaleChangedAt?: number | undefined;
  /** Its successful calls and throttles so far (cumulative). */
  successes?: number | undefined;
  throttles?: number | undefined;
  /** Its calls admitted within the quota's last window. */
  windowCount?: number | undefined;
}

/** Where a model's members are kept; each call may fail (the share falls back, see {@link createQuotaMembership}). */
export interface QuotaMemberStore {
  /** Write (create or refresh) one member's item; it expires on its own after `ttlMs` without a heartbeat. */
  heartbeat(modelId: string, member: QuotaMember, ttlMs: number): Promise<void>;
  /** Every member of the model's quota the store holds (stale ones included: the reader filters by heartbeat). */
  members(modelId: string): Promise<QuotaMember[]>;
  /** Leave: the others re-balance at their next refresh instead of waiting for the heartbeat to go stale. */
  leave(modelId: string, memberId: string): Promise<void>;
}

export interface QuotaMembershipOptions {
  store: QuotaMemberStore;
  memberId: string;
  /** How often each model's membership is refreshed (heartbeat + read). Default 3 s. */
  refreshMs?: number;
  /** A member is live while its heartbeat is younger than this many refreshes (and {@link MIN_LIVE_MS}). Default 3. */
  liveRefreshes?: number;
  /** The fraction to take when the store has not answered for `liveRefreshes` refreshes (e.g. 1 ÷ stages sharing). */
  fallbackFraction?: number;
  /** Store failures, at most one report per failure streak. */
  onError?: (error: unknown, modelId: string) => void;
  now?: () => number;
  schedule?: (delayMs: number, run: () => void) => { cancel(): void };
}

export interface QuotaMembership extends QuotaShare {
  /** Refresh one model's membership now (what the timer does every `refreshMs`). */
  refresh(modelId: string): Promise<void>;
  /** Stop refreshing and leave every model's quota. */
  stop(): Promise<void>;
}

/**
 * Max-min fair allocation of the quota (water-filling): members wanting less than an equal split
 * get what they want; the rest split what is left equally; what nobody wants is spread evenly.
 * `wants` are fractions of the quota; the result sums to 1 and follows the order of `wants`.
 */
export function fairShares(wants: readonly number[]): number[] {
  const order = wants.map((want, index) => ({ want: Math.min(1, Math.max(0, want)), index }));
  order.sort((a, b) => a.want - b.want);
  const shares = new Array<number>(wants.length).fill(0);
  let remaining = 1;
  order.forEach(({ want, index }, position) => {
    const share = Math.min(want, remaining / (order.length - position));
    shares[index] = share;
    remaining -= share;
  });
  return shares.map((share) => share + remaining / wants.length);
}

/**
 * This member's fraction of the quota, from the others as last read:
 *
 * - alone (no other live member): all of it;
 * - otherwise its max-min fair share ({@link fairShares}) — but taking more than it holds only out of
 *   what the others leave unclaimed (1 − their claimed fractions): a member never grows into a
 *   share another still holds; that one gives it up at its next refresh, and this one takes it at
 *   the following;
 * - with a floor, so an idle member that becomes busy starts at once: an equal share of the unclaimed part,
 *   or 1 ÷ (2 × members) when nothing is unclaimed (a short overshoot, for at most a refresh, that its window log covers).
 */
export function shareOf(input: {
  /** What this member wants (a fraction of the quota). */
  demand: number;
  /** What this member claimed at its last heartbeat (0 before the first). */
  claimed: number;
  others: readonly Pick<QuotaMember, "demand" | "fraction">[];
}): number {
  const { others } = input;
  if (others.length === 0) return 1;
  const fair = fairShares([input.demand, ...others.map((m) => m.demand)])[0]!;
  if (fair <= input.claimed) return fair;
  const unclaimed = Math.max(0, 1 - others.reduce((sum, m) => sum + Math.max(0, m.fraction), 0));
  const members = others.length + 1;
  const idleOthers = others.filter((m) => m.demand <= 0).length;
  const floor = unclaimed > 0 ? unclaimed / (idleOthers + 1) : 1 / (2 * members);
  return Math.min(fair, Math.max(input.claimed, unclaimed, floor));
}

/**
 * A member is live for at least this long after its heartbeat, however short the refresh: on a busy
 * host a heartbeat comes late (measured: 2.8 s apart at a 750 ms refresh, the bench's pipeline on two
 * cores), and a member dropped from the others' view for a moment makes each of them take more of the
 * quota at once — a burst of throttles. (A member that stops cleanly leaves at once; one that dies
 * keeps its share unused this long.)
 */
const MIN_LIVE_MS = 5000;

/** Reads a joining member makes 250 ms apart (and the fallback caps its share until they are done). */
const JOINING_READS = 3;

interface ModelView {
  /** The other live members at the last successful read. */
  others: QuotaMember[];
  /** When the store last answered a read. */
  readAt: number;
  /** What this member claimed at its last heartbeat. */
  claimed: number;
  report: () => MemberReport;
  /** The fraction last handed to the governor. */
  fraction: number;
  failing: boolean;
  /** Reads the store answered. */
  reads: number;
  timer?: { cancel(): void };
  refreshing?: Promise<void>;
}

export function createQuotaMembership(options: QuotaMembershipOptions): QuotaMembership {
  const now = options.now ?? (() => Date.now());
  const schedule =
    options.schedule ??
    ((delayMs: number, run: () => void) => {
      const timer = setTimeout(run, delayMs);
      // Never what keeps a process (or a test) alive.
      timer.unref?.();
      return { cancel: () => clearTimeout(timer) };
    });
  const refreshMs = options.refreshMs ?? 3000;
  const liveMs = Math.max(MIN_LIVE_MS, refreshMs * (options.liveRefreshes ?? 3));
  const fallbackFraction = options.fallbackFraction ?? 1;
  const views = new Map<string, ModelView>();
  let stopped = false;

  /** The live member with the lowest id (this one included) leads. */
  function leaderOf(view: ModelView): QuotaMember | "self" {
    let leader: QuotaMember | "self" = "self";
    for (const member of liveOthers(view))
      if (member.memberId < (leader === "self" ? options.memberId : leader.memberId)) leader = member;
    return leader;
  }
  const liveOthers = (view: ModelView) =>
    now() - view.readAt > liveMs ? [] : view.others.filter((m) => now() - m.heartbeatAt <= liveMs);

  function fractionOf(view: ModelView, demand: number): number {
    // The store has not answered for a while: the last known share is too old to trust.
    if (now() - view.readAt > liveMs) return fallbackFraction;
    const share = shareOf({ demand, claimed: view.claimed, others: liveOthers(view) });
    // Members starting together each read before the others wrote and think themselves alone: a
    // joining member takes no more than the fallback until its first reads are done (250 ms apart).
    return view.reads < JOINING_READS ? Math.min(fallbackFraction, share) : share;
  }

  function viewOf(modelId: string): ModelView {
    let view = views.get(modelId);
    if (view) return view;
    // Before the first read: the fallback (the configured split), until the store answers.
    view = {
      others: [],
      readAt: Number.NEGATIVE_INFINITY,
      claimed: 0,
      report: () => ({ wants: 0, scale: 1, scaleChangedAt: 0, successes: 0, throttles: 0, windowCount: 0 }),
      fraction: fallbackFraction,
      failing: false,
      reads: 0,
    };
    views.set(modelId, view);
    if (!stopped) {
      const tick = () => {
        if (stopped) return;
        void refresh(modelId).finally(() => {
          // A joining member's first reads come quickly: they settle a start among members starting together.
          if (!stopped)
            view!.timer = schedule(view!.reads < JOINING_READS ? Math.min(refreshMs, 250) : refreshMs, tick);
        });
      };
      // The first heartbeat after the caller's first demand (the acquire that asked for the share).
      view.timer = schedule(0, tick);
    }
    return view;
  }

  function refresh(modelId: string): Promise<void> {
    const view = viewOf(modelId);
    view.refreshing ??= (async () => {
      try {
        const report = view.report();
        const demand = Math.min(1, Math.max(0, report.wants));
        const fraction = fractionOf(view, demand);
        await options.store.heartbeat(
          modelId,
          {
            memberId: options.memberId,
            demand,
            fraction,
            heartbeatAt: now(),
            scale: report.scale,
            scaleChangedAt: report.scaleChangedAt,
            successes: report.successes,
            throttles: report.throttles,
            windowCount: report.windowCount,
          },
          liveMs,
        );
        view.claimed = fraction;
        const members = await options.store.members(modelId);
        view.others = members.filter((m) => m.memberId !== options.memberId && now() - m.heartbeatAt <= liveMs);
        view.readAt = now();
        view.reads++;
        view.failing = false;
      } catch (error) {
        if (!view.failing) options.onError?.(error, modelId);
        view.failing = true;
      } finally {
        delete view.refreshing;
      }
    })();
    return view.refreshing;
  }

  return {
    current(modelId, report) {
      const view = viewOf(modelId);
      view.report = report;
      view.fraction = fractionOf(view, Math.min(1, Math.max(0, report().wants)));
      const leader = leaderOf(view);
      return {
        fraction: view.fraction,
        leader: leader === "self",
        others: liveOthers(view).reduce(
          (sum, member) => ({
            successes: sum.successes + (member.successes ?? 0),
            throttles: sum.throttles + (member.throttles ?? 0),
            windowCount: sum.windowCount + (member.windowCount ?? 0),
          }),
          { successes: 0, throttles: 0, windowCount: 0 },
        ),
        feedbackMs: 2 * refreshMs,
        ...(leader !== "self" && leader.scale !== undefined
          ? { leaderScale: { scale: leader.scale, changedAt: leader.scaleChangedAt ?? 0 } }
          : {}),
      };
    },
    refresh,
    async stop() {
      stopped = true;
      for (const view of views.values()) view.timer?.cancel();
      await Promise.all(
        [...views.keys()].map((modelId) =>
          options.store.leave(modelId, options.memberId).catch((error) => options.onError?.(error, modelId)),
        ),
      );
    },
  };
}
