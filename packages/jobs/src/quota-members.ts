import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient, queryPartition } from "./dynamo.ts";
import { quotaMemberKey, quotaMembersPartition } from "./keys.ts";

/** One member of a model's quota (the shape @quire/bedrock's QuotaMemberStore reads and writes). */
export interface QuotaMemberItem {
  memberId: string;
  /** What it wanted at its last heartbeat: a fraction of the quota. */
  demand: number;
  /** The fraction of the quota it took at its last heartbeat. */
  fraction: number;
  /** Epoch ms. */
  heartbeatAt: number;
  /** Its estimate of the quota against the configured one, and when that last changed (its own clock). */
  scale?: number | undefined;
  scaleChangedAt?: number | undefined;
  /** Its successful calls and throttles so far (cumulative). */
  successes?: number | undefined;
  throttles?: number | undefined;
  /** Its calls admitted within the quota's last window. */
  windowCount?: number | undefined;
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
            ...(member.scale !== undefined ? { scale: member.scale } : {}),
            ...(member.scaleChangedAt !== undefined ? { scaleChangedAt: member.scaleChangedAt } : {}),
            ...(member.successes !== undefined ? { successes: member.successes } : {}),
            ...(member.throttles !== undefined ? { throttles: member.throttles } : {}),
            ...(member.windowCount !== undefined ? { windowCount: member.windowCount } : {}),
            expiresAt: Math.ceil((member.heartbeatAt + ttlMs) / 1000) + 60,
          },
        }),
      );
    },
    async members(modelId) {
      const members: QuotaMemberItem[] = [];
      for (const item of await queryPartition(db, tableName, quotaMembersPartition(modelId))) {
        if (typeof item.memberId !== "string") continue;
        members.push({
          memberId: item.memberId,
          demand: Number(item.demand) || 0,
          fraction: Number(item.fraction) || 0,
          heartbeatAt: Number(item.heartbeatAt) || 0,
          ...(Number(item.scale) > 0 ? { scale: Number(item.scale) } : {}),
          ...(item.scaleChangedAt !== undefined ? { scaleChangedAt: Number(item.scaleChangedAt) || 0 } : {}),
          ...(item.successes !== undefined ? { successes: Number(item.successes) || 0 } : {}),
          ...(item.throttles !== undefined ? { throttles: Number(item.throttles) || 0 } : {}),
          ...(item.windowCount !== undefined ? { windowCount: Number(item.windowCount) || 0 } : {}),
        });
      }
      return members;
    },
    async leave(modelId, memberId) {
      await db.send(new DeleteCommand({ TableName: tableName, Key: quotaMemberKey(modelId, memberId) }));
    },
  };
}
