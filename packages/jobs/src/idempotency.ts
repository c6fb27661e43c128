import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { epochSeconds, getItem, isConditionFailure, type StoreContext } from "./dynamo.ts";
import { idempotencyKey } from "./keys.ts";

/** What claiming a key tells the caller. */
export type IdempotencyClaim =
  | { jobId: string; claimed: true }
  | {
      /** The job that owns the key (it may not be written yet: its request is still being accepted). */
      jobId: string;
      claimed: false;
      /** The fingerprint of the request that claimed the key; absent on keys claimed without one. */
      requestHash?: string;
      /** When the owner claimed it (ISO 8601). */
      claimedAt: string;
    };

/**
 * A caller's idempotency key → the job it created, claimed by one conditional put before the
 * job is written, so two concurrent retries of one request make one job. Keys expire after
 * `idempotencyTtlSeconds`; an expired record is claimable again even before TTL deletes it.
 *
 * The claim stores a fingerprint of the request (`requestHash`), so the caller can tell a retry
 * (same request) from a different request reusing the key. A submission that fails after its
 * claim releases the key (`releaseIdempotencyKey`), so a retry is accepted instead of waiting
 * for the key to expire.
 */
export function createIdempotency(ctx: StoreContext) {
  async function claimIdempotencyKey(
    key: string,
    jobId: string,
    options: { requestHash?: string | undefined } = {},
  ): Promise<IdempotencyClaim> {
    // Two tries: the record we lost to could expire, or be released, between the put and the read.
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = ctx.now();
      try {
        await ctx.db.send(
          new PutCommand({
            TableName: ctx.tableName,
            Item: {
              ...idempotencyKey(key),
              entity: "idempotency",
              idempotencyKey: key,
              jobId,
              ...(options.requestHash !== undefined ? { requestHash: options.requestHash } : {}),
              createdAt: now.toISOString(),
              expiresAt: epochSeconds(now) + ctx.idempotencyTtlSeconds,
            },
            ConditionExpression: "attribute_not_exists(pk) OR expiresAt <= :now",
            ExpressionAttributeValues: { ":now": epochSeconds(now) },
          }),
        );
        return { jobId, claimed: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const existing = await getItem(ctx, idempotencyKey(key));
      if (!existing) continue;
      // A repeat by the owner itself.
      if (existing.jobId === jobId) return { jobId, claimed: true };
      return {
        jobId: existing.jobId as string,
        claimed: false,
        ...(typeof existing.requestHash === "string" ? { requestHash: existing.requestHash } : {}),
        claimedAt: existing.createdAt as string,
      };
    }
    throw new Error(`Could not claim idempotency key ${key}.`);
  }

  /**
   * Give a key up, but only while `jobId` still owns it (a conditional delete), so a caller can
   * never release a claim another request made since. Returns whether it released it.
   */
  async function releaseIdempotencyKey(key: string, jobId: string): Promise<boolean> {
    try {
      await ctx.db.send(
        new DeleteCommand({
          TableName: ctx.tableName,
          Key: idempotencyKey(key),
          ConditionExpression: "#jobId = :jobId",
          ExpressionAttributeNames: { "#jobId": "jobId" },
          ExpressionAttributeValues: { ":jobId": jobId },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  return { claimIdempotencyKey, releaseIdempotencyKey };
}
