import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient } from "./dynamo.ts";
import { quotaMemberKey, quotaMembersPartition } from "./keys.ts";

/** One member of a model's quota (the shape @quire/bedrock's QuotaMemberStore reads and writes). */
export interface QuotaMemberItem {
  memberId: string;
  /** Calls it could use at its last heartbeat. */
  demand: number;
  /** The fraction of the quota it took at its last heartbeat. */
  fraction: number;
  /** Epoch ms. */
  heartbeatAt: number;
}

/** @quire/bedrock's QuotaMemberStore, on the jobs table (structurally: the job store does not depend on Bedrock). */
export interface QuotaMemberStore {
  heartbeat(modelId: string, member: QuotaMemberItem, ttlMs: number): Promise<void>;
  members(modelId: string): Promise<QuotaMemberItem[]>;
  leave(modelId: string, memberId: string): Promise<void>;
}

/**
 * The members of each model's quota, in the jobs table: one item per member under
 * `QUOTA#<modelId>` / `MEMBER#<memberId>`, rewritten at every heartbeat (a PutItem), read as one
 * partition (a Query), deleted when the member stops. An item a crashed member left expires by
 * TTL (`expiresAt`: its heartbeat's liveness, plus a minute), and readers ignore a stale heartbeat
 * long before that (DynamoDB deletes expired items lazily).
 */
export function createQuotaMemberStore(options: { client: DynamoDBClient; tableName: string }): QuotaMemberStore {
  const db = documentClient(options.client);
  const { tableName } = options;
  return {
    async heartbeat(modelId, member, ttlMs) {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...quotaMemberKey(modelId, member.memberId),
            memberId: member.memberId,
            demand: member.demand,
            fraction: member.fraction,
            heartbeatAt: member.heartbeatAt,
            expiresAt: Math.ceil((member.heartbeatAt + ttlMs) / 1000) + 60,
          },
        }),
      );
    },
    async members(modelId) {
      const members: QuotaMemberItem[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const { Items = [], LastEvaluatedKey } = await db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": quotaMembersPartition(modelId) },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of Items) {
          if (typeof item.memberId !== "string") continue;
          members.push({
            memberId: item.memberId,
            demand: Number(item.demand) || 0,
            fraction: Number(item.fraction) || 0,
            heartbeatAt: Number(item.heartbeatAt) || 0,
          });
        }
        start = LastEvaluatedKey;
      } while (start);
      return members;
    },
    async leave(modelId, memberId) {
      await db.send(new DeleteCommand({ TableName: tableName, Key: quotaMemberKey(modelId, memberId) }));
    },
  };
}
