import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionally, getItem, type StoreContext } from "./dynamo.ts";
import type { ItemKey } from "./keys.ts";

/**
 * The events a terminal transition owes — `Job Completed`, `Job Failed`, `Run Completed` — and
 * the lease that makes each go out once, and never be lost.
 *
 * The invariant: **a delivery is acknowledged only once the event its transition owes is on the
 * bus.** The caller that made the transition (or that later finds it unannounced) holds a lease
 * on the announcement: it publishes, then marks it published. If publishing fails it releases the
 * lease and fails its delivery, which comes back and claims it again. A delivery that finds
 * someone else's live lease does not acknowledge either (`held`): it comes back after the lease,
 * and either sees the announcement published or takes it over (its holder crashed). So each
 * announcement is published at least once, and twice only when a holder published and then died
 * (or lost its lease) before marking it.
 */
export interface AnnouncementKind {
  /** For messages: "Job Completed"… */
  readonly event: string;
  /** Attribute holding when the current lease was taken (ISO time). */
  readonly lease: string;
  /**
   * Attribute naming who holds the lease (a job id), where holders differ in what they owe: for a
   * run, a delivery of another job need not wait for the holder, whose own message comes back
   * if it dies (see runs.ts recordRunOutcome).
   */
  readonly holder?: string;
  /** Whether this item's announcement is already out. */
  isPublished(item: Record<string, unknown>): boolean;
  /** Attribute set to true once published. */
  readonly published: string;
  /** The announcement is owed (the transition happened): as a condition, and on a read item. */
  readonly due: { expression: string; names: Record<string, string>; values: Record<string, unknown> };
  isDue(item: Record<string, unknown>): boolean;
}

export type AnnouncementClaim =
  /** Yours: publish, then markPublished; if publishing fails, release(leaseAt) and fail the delivery. */
  | { status: "claimed"; leaseAt: string }
  /** Already on the bus: nothing owed. */
  | { status: "published" }
  /** Another caller holds a live lease: do not acknowledge; come back after `retryAfterMs`. */
  | { status: "held"; retryAfterMs: number; holder?: string }
  /** Not owed (the transition has not happened). */
  | { status: "not-due" };

export function createAnnouncements(ctx: StoreContext) {
  /** What a read item says, without writing. */
  function inspect(kind: AnnouncementKind, item: Record<string, unknown>): AnnouncementClaim | undefined {
    if (!kind.isDue(item)) return { status: "not-due" };
    if (kind.isPublished(item)) return { status: "published" };
    const leaseAt = item[kind.lease];
    if (typeof leaseAt === "string") {
      const expiresAt = Date.parse(leaseAt) + ctx.announceLeaseMs;
      const left = expiresAt - ctx.now().getTime();
      const holder = kind.holder ? item[kind.holder] : undefined;
      if (left > 0) return { status: "held", retryAfterMs: left, ...(typeof holder === "string" ? { holder } : {}) };
    }
    return undefined;
  }

  /** Take the announcement of `item` (read just now) if it is owed and nobody holds it; `holder` is recorded where the kind keeps one. */
  async function claim(
    kind: AnnouncementKind,
    key: ItemKey,
    item: Record<string, unknown>,
    holder?: string,
  ): Promise<AnnouncementClaim> {
    const known = inspect(kind, item);
    if (known) return known;
    const now = ctx.now();
    const leaseAt = now.toISOString();
    const cutoff = new Date(now.getTime() - ctx.announceLeaseMs).toISOString();
    const named = kind.holder !== undefined && holder !== undefined;
    const claimed = await conditionally(() =>
      ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: key,
          UpdateExpression: named ? "SET #lease = :now, #holder = :holder" : "SET #lease = :now",
          ConditionExpression: `${kind.due.expression} AND #published = :false AND (attribute_not_exists(#lease) OR #lease <= :cutoff)`,
          ExpressionAttributeNames: {
            ...kind.due.names,
            "#lease": kind.lease,
            "#published": kind.published,
            ...(named ? { "#holder": kind.holder } : {}),
          },
          ExpressionAttributeValues: {
            ...kind.due.values,
            ":now": leaseAt,
            ":cutoff": cutoff,
            ":false": false,
            ...(named ? { ":holder": holder } : {}),
          },
        }),
      ),
    );
    if (claimed) return { status: "claimed", leaseAt };
    // Lost the race: to a publisher (published), or to another claimant (held, a whole lease).
    const now2 = await getItem(ctx, key);
    return (now2 && inspect(kind, now2)) ?? { status: "held", retryAfterMs: ctx.announceLeaseMs };
  }

  /** Give the lease back after a failed publish, so the delivery's retry claims it at once. Only our own lease. */
  async function release(kind: AnnouncementKind, key: ItemKey, leaseAt: string): Promise<void> {
    // A lost condition means someone took it over meanwhile (our lease had lapsed): theirs now.
    await conditionally(() =>
      ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: key,
          UpdateExpression: "REMOVE #lease",
          ConditionExpression: "#lease = :mine AND #published = :false",
          ExpressionAttributeNames: { "#lease": kind.lease, "#published": kind.published },
          ExpressionAttributeValues: { ":mine": leaseAt, ":false": false },
        }),
      ),
    );
  }

  /** After the event went out; from then on no delivery announces it again. False if it is not owed. */
  async function markPublished(kind: AnnouncementKind, key: ItemKey): Promise<boolean> {
    return conditionally(() =>
      ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: key,
          UpdateExpression: "SET #published = :true, #updatedAt = :now",
          ConditionExpression: `attribute_exists(pk) AND ${kind.due.expression}`,
          ExpressionAttributeNames: { ...kind.due.names, "#published": kind.published, "#updatedAt": "updatedAt" },
          ExpressionAttributeValues: { ...kind.due.values, ":true": true, ":now": ctx.now().toISOString() },
        }),
      ),
    );
  }

  return { claim, release, markPublished };
}

export type Announcements = ReturnType<typeof createAnnouncements>;

export const jobCompletion: AnnouncementKind = {
  event: "Job Completed",
  lease: "announceLeaseAt",
  published: "completionPublished",
  isPublished: (item) => item.completionPublished === true,
  due: {
    expression: "#remaining = :zero AND attribute_not_exists(#failedAt)",
    names: { "#remaining": "remainingStages", "#failedAt": "failedAt" },
    values: { ":zero": 0 },
  },
  isDue: (item) => typeof item.failedAt !== "string" && item.remainingStages === 0,
};

export const jobFailure: AnnouncementKind = {
  event: "Job Failed",
  lease: "failureLeaseAt",
  published: "failurePublished",
  // Jobs failed before this flag existed were announced the old way: only an explicit false is owed.
  isPublished: (item) => item.failurePublished !== false,
  due: { expression: "attribute_exists(#failedAt)", names: { "#failedAt": "failedAt" }, values: {} },
  isDue: (item) => typeof item.failedAt === "string",
};

export const runCompletion: AnnouncementKind = {
  event: "Run Completed",
  lease: "announceLeaseAt",
  holder: "announceHolder",
  published: "completionPublished",
  isPublished: (item) => item.completionPublished === true,
  due: { expression: "#finished >= #total", names: { "#finished": "finished", "#total": "total" }, values: {} },
  isDue: (item) => (item.finished as number) >= (item.total as number),
};
