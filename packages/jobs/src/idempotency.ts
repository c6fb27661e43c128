import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { epochSeconds, getItem, isConditionFailure, type StoreContext } from "./dynamo.ts";
import { idempotencyKey } from "./keys.ts";

/**
 * A caller's idempotency key → the job it created, claimed by one conditional put before the
 * job is written, so two concurrent retries of one request make one job. Keys expire after
 * `idempotencyTtlSeconds`; an expired record is claimable again even before TTL deletes it.
 */
export function createIdempotency(ctx: StoreContext) {
  async function claimIdempotencyKey(key: string, jobId: string): Promise<{ jobId: string; claimed: boolean }> {
    // Two tries: the record we lost to could expire and be deleted between the put and the read.
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
      if (existing) return { jobId: existing.jobId as string, claimed: existing.jobId === jobId };
    }
    throw new Error(`Could not claim idempotency key ${key}.`);
  }

  return { claimIdempotencyKey };
}
