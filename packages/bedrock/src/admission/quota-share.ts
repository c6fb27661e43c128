/**
 * The quota as a shared resource. Every process (or Lambda container) calling a model is a member
 * of that model's quota: it publishes its demand every few seconds and reads the others', and takes
 * a demand-weighted share of the quota, so the members' token buckets together pace at the quota
 * instead of each believing it has all of it (and AIMD discovering the truth through throttles).
 *
 * The governor consumes only {@link QuotaShare}; where the members are kept is a
 * {@link QuotaMemberStore} (the job store's table in Quire: see @quire/jobs createQuotaMemberStore).
 * A failing store never stops calls: the last known members are used for a few refreshes, then
 * the configured fallback fraction (the quota ÷ the stages sharing the model), with AIMD as the safety net.
 */

/** What a governor asks: its fraction of a model's quota, given its own demand now. */
export interface QuotaShare {
  /**
   * This member's fraction (0, 1] of the model's quota now. `demand`: calls it could use now —
   * running, waiting, reserved; more (the governor asks twice that) while it is starved;
   * a function, read again whenever the member publishes its demand (an idle member is not asked).
   */
  current(modelId: string, demand: () => number): { fraction: number };
}

/** A constant share (a fixed split, or 1: alone), for tests and for hosts without a shared view. */
export const fixedQuotaShare = (fraction: number): QuotaShare => ({ current: () => ({ fraction }) });

/** One member of a model's quota as the store holds it. */
export interface QuotaMember {
  memberId: string;
  /** Its demand at its last heartbeat (calls it could use). */
  demand: number;
  /** The fraction it took at its last heartbeat: what it claims of the quota. */
  fraction: number;
  /** When it last wrote (epoch ms). */
  heartbeatAt: number;
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
  /** A member is live while its heartbeat is younger than this many refreshes. Default 3. */
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
 * This member's fraction of the quota, from the others as last read:
 *
 * - alone (no other live member): all of it;
 * - otherwise demand-weighted — own weight (at least 1, so a member about to call has a share to
 *   start with) over the total — but taking more than it holds only out of what the others leave
 *   unclaimed (1 − their claimed fractions): a member never grows into a share another still
 *   holds; that one gives it up at its next refresh, and this one takes it at the following;
 * - with a floor, so an idle member that becomes busy starts at once: an equal share of the unclaimed part,
 *   or 1 ÷ (2 × members) when nothing is unclaimed (a short overshoot, for at most a refresh, that AIMD covers).
 */
export function shareOf(input: {
  demand: number;
  /** What this member claimed at its last heartbeat (0 before the first). */
  claimed: number;
  others: readonly Pick<QuotaMember, "demand" | "fraction">[];
}): number {
  const { others } = input;
  if (others.length === 0) return 1;
  const weight = Math.max(1, input.demand);
  const total = weight + others.reduce((sum, m) => sum + Math.max(0, m.demand), 0);
  const weighted = weight / total;
  if (weighted <= input.claimed) return weighted;
  const unclaimed = Math.max(0, 1 - others.reduce((sum, m) => sum + Math.max(0, m.fraction), 0));
  const members = others.length + 1;
  const idleOthers = others.filter((m) => m.demand <= 0).length;
  const floor = unclaimed > 0 ? unclaimed / (idleOthers + 1) : 1 / (2 * members);
  return Math.min(weighted, Math.max(input.claimed, unclaimed, floor));
}

/** Reads a joining member makes 250 ms apart (and the fallback caps its share until they are done). */
const JOINING_READS = 3;

interface ModelView {
  /** The other live members at the last successful read. */
  others: QuotaMember[];
  /** When the store last answered a read. */
  readAt: number;
  /** What this member claimed at its last heartbeat. */
  claimed: number;
  demand: () => number;
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
  const liveMs = refreshMs * (options.liveRefreshes ?? 3);
  const fallbackFraction = options.fallbackFraction ?? 1;
  const views = new Map<string, ModelView>();
  let stopped = false;

  function fractionOf(view: ModelView, demand: number): number {
    // The store has not answered for a while: the last known share is too old to trust.
    if (now() - view.readAt > liveMs) return fallbackFraction;
    const others = view.others.filter((m) => now() - m.heartbeatAt <= liveMs);
    const share = shareOf({ demand, claimed: view.claimed, others });
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
      demand: () => 0,
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
        const demand = Math.max(0, view.demand());
        const fraction = fractionOf(view, demand);
        await options.store.heartbeat(
          modelId,
          { memberId: options.memberId, demand, fraction, heartbeatAt: now() },
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
    current(modelId, demand) {
      const view = viewOf(modelId);
      view.demand = demand;
      view.fraction = fractionOf(view, Math.max(0, demand()));
      return { fraction: view.fraction };
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
