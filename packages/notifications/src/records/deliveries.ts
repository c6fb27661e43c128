import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionally, type StoreTable } from "@quire/dynamo";
import { attemptKey, BY_SUBSCRIPTION, bySubscriptionKey, deliveryKey, recordExpiresAt, strip } from "./keys.ts";
import type { AttemptRecord, Delivery, DeliveryStatus } from "./types.ts";

/**
 * Deliveries (one per event and subscription) and their attempt log. An attempt is claimed with
 * a conditional write and recorded on condition that no other worker recorded it: a redelivered
 * attempt message, or two workers on one delivery, cannot both send or both record.
 */
export function createDeliveryRecords(table: StoreTable) {
  const { db, tableName: TableName, now } = table;
  const asDelivery = (item: Record<string, unknown>) => strip<Delivery>(item);

  async function getDelivery(id: string): Promise<Delivery | undefined> {
    const { Item } = await db.send(new GetCommand({ TableName, Key: deliveryKey(id), ConsistentRead: true }));
    return Item ? asDelivery(Item) : undefined;
  }

  return {
    /** Creates the delivery unless one with this id exists; either way returns the stored one. */
    async createDelivery(
      delivery: Omit<Delivery, "status" | "attempts" | "createdAt" | "updatedAt">,
    ): Promise<{ created: boolean; delivery: Delivery }> {
      const at = now().toISOString();
      const item: Delivery = { ...delivery, status: "pending", attempts: 0, createdAt: at, updatedAt: at };
      const created = await conditionally(() =>
        db.send(
          new PutCommand({
            TableName,
            Item: {
              ...deliveryKey(delivery.id),
              ...item,
              ...bySubscriptionKey(delivery.subscriptionId, at, delivery.id),
              expiresAt: recordExpiresAt(table),
            },
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        ),
      );
      return created
        ? { created: true, delivery: item }
        : { created: false, delivery: (await getDelivery(delivery.id))! };
    },
    getDelivery,
    /** The delivery with every attempt, oldest first. */
    async getDeliveryLog(id: string): Promise<{ delivery: Delivery; log: AttemptRecord[] } | undefined> {
      const { Items = [] } = await db.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": deliveryKey(id).pk },
          ConsistentRead: true,
        }),
      );
      const head = Items.find((item) => item.sk === deliveryKey(id).sk);
      if (!head) return undefined;
      const log = Items.filter((item) => String(item.sk).startsWith("ATTEMPT#")).map((item) =>
        strip<AttemptRecord>(item),
      );
      return { delivery: asDelivery(head), log };
    },
    /** A subscription's deliveries, newest first. */
    async listDeliveries(
      subscriptionId: string,
      filter: { status?: DeliveryStatus; since?: string; limit?: number } = {},
    ): Promise<Delivery[]> {
      const found: Delivery[] = [];
      const limit = filter.limit ?? 100;
      const partition = bySubscriptionKey(subscriptionId, "", "").gsi1pk;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName,
            IndexName: BY_SUBSCRIPTION,
            KeyConditionExpression: filter.since ? "gsi1pk = :pk AND gsi1sk >= :since" : "gsi1pk = :pk",
            ...(filter.status ? { FilterExpression: "#status = :status" } : {}),
            ExpressionAttributeNames: filter.status ? { "#status": "status" } : undefined,
            ExpressionAttributeValues: {
              ":pk": partition,
              ...(filter.since ? { ":since": filter.since } : {}),
              ...(filter.status ? { ":status": filter.status } : {}),
            },
            ScanIndexForward: false,
            ExclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) if (found.length < limit) found.push(asDelivery(item));
        ExclusiveStartKey = found.length < limit ? page.LastEvaluatedKey : undefined;
      } while (ExclusiveStartKey);
      return found;
    },
    /**
     * Fail a delivery outside an attempt, with the reason: the message for attempt `attempt` was
     * dead-lettered, or could not be queued. Only while that message is the one the delivery
     * waits on — attempt `attempt` not made yet, or made and waiting for the retry the message
     * had to schedule — so a stale duplicate of an older attempt leaves a live delivery alone.
     * A worker still sending (a lease the message outlived) records its attempt over this.
     */
    async failDelivery(id: string, attempt: number, reason: { code: string; message: string }): Promise<boolean> {
      const at = now().toISOString();
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: deliveryKey(id),
            UpdateExpression:
              "SET #status = :failed, failure = :failure, updatedAt = :now REMOVE leaseUntil, nextAttemptAt",
            ConditionExpression:
              "(#status IN (:pending, :sending, :retrying) AND attempts < :attempt) OR (#status = :retrying AND attempts = :attempt)",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: {
              ":failed": "failed",
              ":failure": { ...reason, at },
              ":now": at,
              ":pending": "pending",
              ":sending": "sending",
              ":retrying": "retrying",
              ":attempt": attempt,
            },
          }),
        ),
      );
    },
    /**
     * Take attempt `attempt` of a delivery: only when exactly `attempt - 1` were made and nobody
     * holds it (or the holder's lease lapsed: it crashed mid-send). Exactly one caller wins.
     */
    async claimAttempt(id: string, attempt: number, leaseMs: number): Promise<boolean> {
      const at = now();
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: deliveryKey(id),
            UpdateExpression: "SET #status = :sending, leaseUntil = :lease, updatedAt = :now",
            ConditionExpression:
              "attempts = :made AND (#status IN (:pending, :retrying) OR (#status = :sending AND leaseUntil < :now))",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: {
              ":sending": "sending",
              ":pending": "pending",
              ":retrying": "retrying",
              ":made": attempt - 1,
              ":lease": new Date(at.getTime() + leaseMs).toISOString(),
              ":now": at.toISOString(),
            },
          }),
        ),
      );
    },
    /**
     * Log the attempt, then move the delivery on: succeeded, failed for good, or retrying at
     * `nextAttemptAt`. False when another worker (our lease lapsed) already recorded this attempt:
     * its record stands.
     */
    async recordAttempt(
      id: string,
      record: AttemptRecord,
      next: { status: "succeeded" | "failed" | "retrying"; nextAttemptAt?: string },
    ): Promise<boolean> {
      await db.send(
        new PutCommand({
          TableName,
          Item: { ...attemptKey(id, record.attempt), ...record, expiresAt: recordExpiresAt(table) },
        }),
      );
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: deliveryKey(id),
            UpdateExpression: `SET #status = :status, attempts = :attempt, lastAttempt = :record, updatedAt = :now${next.nextAttemptAt ? ", nextAttemptAt = :next" : ""} REMOVE leaseUntil, failure${next.nextAttemptAt ? "" : ", nextAttemptAt"}`,
            ConditionExpression: "attempts = :made",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: {
              ":status": next.status,
              ":attempt": record.attempt,
              ":made": record.attempt - 1,
              ":record": record,
              ":now": now().toISOString(),
              ...(next.nextAttemptAt ? { ":next": next.nextAttemptAt } : {}),
            },
          }),
        ),
      );
    },
  };
}

export type DeliveryRecords = ReturnType<typeof createDeliveryRecords>;
