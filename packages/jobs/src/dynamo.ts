import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { ItemKey } from "./keys.ts";

/** What every part of the store shares: one document client, the table, the clock, the lease. */
export interface StoreContext {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly now: () => Date;
  /** How long a completion's winner has to publish before a redelivery may announce it again. */
  readonly announceLeaseMs: number;
  readonly idempotencyTtlSeconds: number;
  readonly resultCacheTtlSeconds: number;
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  // Optional fields are spread in as undefined in places; DynamoDB rejects undefined values.
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
}

/** A losing conditional write is an answer, not an error: callers branch on it. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: unknown } | null)?.name === "ConditionalCheckFailedException";
}

/**
 * Strongly consistent read of one item. Used after a lost conditional write to learn why it
 * lost (dynalite ignores ReturnValuesOnConditionCheckFailure, so the failure carries no item).
 */
export async function getItem(ctx: StoreContext, key: ItemKey, consistent = true): Promise<Record<string, unknown> | undefined> {
  const { Item } = await ctx.db.send(new GetCommand({ TableName: ctx.tableName, Key: key, ConsistentRead: consistent }));
  return Item;
}

/** Epoch seconds for the table's `expiresAt` TTL attribute. */
export const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);
