import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { StageName } from "@quire/contracts";
import { conditionFailureItem, epochSeconds, getItem, isConditionFailure, type StoreContext } from "./dynamo.ts";
import { resultKey } from "./keys.ts";
import { resultCacheKey, resultSchemaOf, type ResultCacheKey, type StageResult } from "./schema.ts";

/**
 * Stage results keyed by content: the same text with the same prompt and model gives the same
 * answer, so a duplicate delivery, a redelivery after a crash or a resubmitted document never
 * pays for Bedrock twice. Entries expire (TTL `expiresAt`) so the table does not grow forever.
 */
export function createResultCache(ctx: StoreContext) {
  async function getCachedResult<S extends StageName>(
    key: ResultCacheKey & { stage: S },
  ): Promise<StageResult<S> | undefined> {
    const parsedKey = resultCacheKey.parse(key);
    // Eventually consistent is enough: a miss only costs a model call.
    const item = await getItem(ctx, resultKey(parsedKey), false);
    return item ? cachedResultOf(item, parsedKey as ResultCacheKey & { stage: S }) : undefined;
  }

  /** The result an item holds for `key`, if it holds one that is live, for that key, and still parses. */
  function cachedResultOf<S extends StageName>(
    item: Record<string, unknown>,
    key: ResultCacheKey & { stage: S },
  ): StageResult<S> | undefined {
    // TTL deletion is lazy in AWS and absent in dynalite: an expired entry is a miss.
    if (typeof item.expiresAt === "number" && item.expiresAt <= epochSeconds(ctx.now())) return undefined;
    const sameKey =
      item.contentSha256 === key.contentSha256 &&
      item.stage === key.stage &&
      item.promptVersion === key.promptVersion &&
      item.modelId === key.modelId;
    if (!sameKey || item.result === undefined) return undefined;
    // An entry that no longer parses (the result schema moved on) is a miss, not an error.
    const result = resultSchemaOf(key.stage).safeParse(item.result);
    return result.success ? (result.data as StageResult<S>) : undefined;
  }

  async function putCachedResult<S extends StageName>(
    key: ResultCacheKey & { stage: S },
    result: StageResult<S>,
  ): Promise<void> {
    const parsedKey = resultCacheKey.parse(key);
    const now = ctx.now();
    // Unconditional: two writers for one key write the same answer; the last one wins harmlessly.
    await ctx.db.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: {
          ...resultKey(parsedKey),
          entity: "result",
          ...parsedKey,
          result: resultSchemaOf(parsedKey.stage).parse(result),
          createdAt: now.toISOString(),
          expiresAt: epochSeconds(now) + ctx.resultCacheTtlSeconds,
        },
      }),
    );
  }

  /**
   * Claim the right to compute a result (Powertools idempotency's INPROGRESS record): an
   * in-progress marker on the cache item, held by one job for `leaseMs`. Concurrent duplicates
   * then do not each call Bedrock; a holder that crashed loses the claim when the lease ends.
   *
   * It is also the cache lookup: the claim is refused by a live result as much as by a live claim,
   * and the refusal carries the item (`ReturnValuesOnConditionCheckFailure`), so a hit answers
   * `result` and a miss is claimed — one write, where a read then a claim took two requests per
   * stage message. (A failure without the item — a store that ignores the parameter — reads it.)
   */
  async function claimComputation<S extends StageName>(
    key: ResultCacheKey & { stage: S },
    holder: { jobId: string; leaseMs: number },
  ): Promise<{ claimed: true } | { claimed: false; heldBy: string | undefined; result?: StageResult<S> | undefined }> {
    const parsedKey = resultCacheKey.parse(key);
    const now = ctx.now();
    try {
      await ctx.db.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: {
            ...resultKey(parsedKey),
            entity: "result",
            ...parsedKey,
            inProgressBy: holder.jobId,
            inProgressUntil: now.getTime() + holder.leaseMs,
            // For TTL clean-up only (rounded up, so it never precedes the lease's end).
            expiresAt: epochSeconds(now) + Math.ceil(holder.leaseMs / 1000) + 1,
          },
          // Free, or an abandoned claim (lease over, no result), or an expired result. The TTL
          // clause is for results only: a claim's expiresAt is whole seconds, its lease is not.
          ConditionExpression:
            "attribute_not_exists(pk) OR (attribute_not_exists(#result) AND inProgressUntil < :now) OR (attribute_exists(#result) AND expiresAt <= :nowSeconds)",
          ExpressionAttributeNames: { "#result": "result" },
          ExpressionAttributeValues: { ":now": now.getTime(), ":nowSeconds": epochSeconds(now) },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = conditionFailureItem(error) ?? (await getItem(ctx, resultKey(parsedKey)));
      const result = item ? cachedResultOf(item, parsedKey as ResultCacheKey & { stage: S }) : undefined;
      return {
        claimed: false,
        heldBy: typeof item?.inProgressBy === "string" && item.result === undefined ? item.inProgressBy : undefined,
        ...(result ? { result } : {}),
      };
    }
  }

  /** Give a claim back after a failed computation, so the next delivery need not wait out the lease. */
  async function releaseComputation(key: ResultCacheKey, jobId: string): Promise<void> {
    const parsedKey = resultCacheKey.parse(key);
    try {
      await ctx.db.send(
        new DeleteCommand({
          TableName: ctx.tableName,
          Key: resultKey(parsedKey),
          ConditionExpression: "inProgressBy = :jobId AND attribute_not_exists(#result)",
          ExpressionAttributeNames: { "#result": "result" },
          ExpressionAttributeValues: { ":jobId": jobId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  return { getCachedResult, putCachedResult, claimComputation, releaseComputation };
}
