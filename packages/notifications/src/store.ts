import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { DeliveredEventType, WebhookPayload } from "@quire/contracts";
import type { SigningSecret, Subscription, SubscriptionStatus } from "./subscriptions.ts";

export type DeliveryStatus = "pending" | "sending" | "retrying" | "succeeded" | "failed";

/** One attempt, as the delivery log shows it. */
export interface AttemptRecord {
  attempt: number;
  at: string;
  outcome: "delivered" | "failed" | "gone" | "refused" | "skipped";
  statusCode?: number;
  latencyMs: number;
  error?: { code: string; message: string };
  response?: { body: string; truncated: boolean };
}

export interface Delivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: DeliveredEventType;
  /** The Standard Webhooks `webhook-id`: the same on every attempt and replay of this message. */
  messageId: string;
  payload: WebhookPayload;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  nextAttemptAt?: string;
  leaseUntil?: string;
  lastAttempt?: AttemptRecord;
  /**
   * Why the delivery failed without an attempt saying so: its attempt message was dead-lettered
   * (retries of the message itself exhausted), or could not be queued at all.
   */
  failure?: { code: string; message: string; at: string };
  replayOf?: string;
  createdAt: string;
  updatedAt: string;
}

const SUBSCRIPTIONS = "SUBSCRIPTIONS";
const subscriptionKey = (id: string) => ({ pk: SUBSCRIPTIONS, sk: `SUB#${id}` });
const deliveryKey = (id: string) => ({ pk: `DLV#${id}`, sk: "DLV" });
const eventKey = (eventId: string) => ({ pk: `EVENT#${eventId}`, sk: "EVENT" });
/** Deliveries, their log and event records expire; subscriptions do not. */
const RECORD_TTL_SECONDS = 30 * 24 * 60 * 60;

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as { name?: unknown } | null)?.name === "ConditionalCheckFailedException";

function strip<T extends Record<string, unknown>>(item: Record<string, unknown>, ...keys: string[]): T {
  const copy = { ...item };
  for (const key of ["pk", "sk", "gsi1pk", "gsi1sk", "expiresAt", ...keys]) delete copy[key];
  return copy as T;
}

/**
 * Subscriptions, deliveries and the delivery log in the notifications table. Every transition is
 * a conditional write, so a redelivered SQS message or two workers on one delivery cannot both
 * act: the loser learns it lost and stands down.
 */
export function createNotificationStore(options: { client: DynamoDBClient; tableName: string; now?: () => Date }) {
  const db = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
  const TableName = options.tableName;
  const now = options.now ?? (() => new Date());
  const expiresAt = () => Math.floor(now().getTime() / 1000) + RECORD_TTL_SECONDS;

  async function getSubscription(id: string): Promise<Subscription | undefined> {
    const { Item } = await db.send(new GetCommand({ TableName, Key: subscriptionKey(id), ConsistentRead: true }));
    return Item ? strip<Subscription & Record<string, unknown>>(Item) : undefined;
  }

  async function updateSubscription(id: string, set: Record<string, unknown>, remove: string[] = [], condition?: { expression: string; values?: Record<string, unknown> }) {
    const names: Record<string, string> = condition?.expression.includes("#status") ? { "#status": "status" } : {};
    const values: Record<string, unknown> = { ...condition?.values };
    const sets = Object.entries({ ...set, updatedAt: now().toISOString() }).map(([key, value], i) => {
      names[`#s${i}`] = key;
      values[`:s${i}`] = value;
      return `#s${i} = :s${i}`;
    });
    const removes = remove.map((key, i) => {
      names[`#r${i}`] = key;
      return `#r${i}`;
    });
    try {
      const { Attributes } = await db.send(
        new UpdateCommand({
          TableName,
          Key: subscriptionKey(id),
          UpdateExpression: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
          ConditionExpression: `attribute_exists(pk)${condition ? ` AND (${condition.expression})` : ""}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return strip<Subscription & Record<string, unknown>>(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  return {
    async createSubscription(subscription: Subscription): Promise<void> {
      await db.send(new PutCommand({ TableName, Item: { ...subscriptionKey(subscription.id), ...subscription }, ConditionExpression: "attribute_not_exists(pk)" }));
    },
    getSubscription,
    /** Every subscription. Few enough to read whole: they are people's endpoints, not documents. */
    async listSubscriptions(): Promise<Subscription[]> {
      const found: Subscription[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new QueryCommand({ TableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": SUBSCRIPTIONS }, ExclusiveStartKey }));
        for (const item of page.Items ?? []) found.push(strip<Subscription & Record<string, unknown>>(item));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return found;
    },
    async deleteSubscription(id: string): Promise<boolean> {
      const { Attributes } = await db.send(new DeleteCommand({ TableName, Key: subscriptionKey(id), ReturnValues: "ALL_OLD" }));
      return Attributes !== undefined;
    },
    /** The new secret signs first; the old ones keep signing until `overlapUntil` (rotation without a gap). */
    async rotateSecret(id: string, secret: string, overlapUntil: Date): Promise<Subscription | undefined> {
      const current = await getSubscription(id);
      if (!current || current.kind !== "webhook") return undefined;
      const at = now().getTime();
      const kept: SigningSecret[] = current.secrets
        .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > at)
        .map((s) => ({ secret: s.secret, expiresAt: new Date(Math.min(Date.parse(s.expiresAt ?? overlapUntil.toISOString()), overlapUntil.getTime())).toISOString() }));
      return updateSubscription(id, { secrets: [{ secret }, ...kept] });
    },
    async confirmEmail(id: string, token: string): Promise<Subscription | undefined> {
      return updateSubscription(id, { status: "active" satisfies SubscriptionStatus }, ["confirmationToken"], {
        expression: "confirmationToken = :token",
        values: { ":token": token },
      });
    },
    async disableSubscription(id: string, reason: { code: string; message: string }): Promise<Subscription | undefined> {
      return updateSubscription(id, { status: "disabled" satisfies SubscriptionStatus, disabledReason: { ...reason, at: now().toISOString() } }, [], {
        expression: "#status <> :pending",
        values: { ":pending": "pending_confirmation" },
      });
    },
    /** Re-enabling forgives past failures: the disable-after window starts again. */
    async enableSubscription(id: string): Promise<Subscription | undefined> {
      return updateSubscription(id, { status: "active" satisfies SubscriptionStatus }, ["disabledReason", "failingSince", "lastFailureAt"], {
        expression: "#status = :disabled OR #status = :active",
        values: { ":disabled": "disabled", ":active": "active" },
      });
    },
    /**
     * Record a failed attempt; returns when the endpoint's current failure streak began. A streak
     * is failures with no success between them and no gap longer than `maxGapMs` between two of
     * them. The gap matters because "failing for 5 days" must mean the endpoint was seen failing
     * all along: while it is, retries come at least every longest-retry-delay, so a longer silence
     * (no traffic for a week) says nothing about it, and a single failure after it must not
     * inherit a streak that began before it. Such a failure starts a new streak.
     */
    async recordEndpointFailure(id: string, options: { maxGapMs: number }): Promise<string | undefined> {
      const at = now().toISOString();
      const recent = new Date(now().getTime() - options.maxGapMs).toISOString();
      const update = async (UpdateExpression: string, condition: string): Promise<string | undefined> => {
        try {
          const { Attributes } = await db.send(
            new UpdateCommand({
              TableName,
              Key: subscriptionKey(id),
              UpdateExpression,
              ConditionExpression: `attribute_exists(pk) AND (${condition})`,
              ExpressionAttributeValues: { ":now": at, ":recent": recent },
              ReturnValues: "ALL_NEW",
            }),
          );
          return Attributes?.failingSince as string | undefined;
        } catch (error) {
          if (isConditionFailure(error)) return undefined;
          throw error;
        }
      };
      // Two conditional writes rather than a read and a write, so concurrent failures of one
      // endpoint cannot start two streaks; a subscription stored before lastFailureAt existed
      // starts a new one (its old failingSince cannot be vouched for).
      for (let tries = 0; tries < 3; tries++) {
        const continued = await update("SET lastFailureAt = :now, failingSince = if_not_exists(failingSince, :now)", "lastFailureAt >= :recent");
        if (continued) return continued;
        const started = await update("SET lastFailureAt = :now, failingSince = :now", "attribute_not_exists(lastFailureAt) OR lastFailureAt < :recent");
        if (started) return started;
        // Neither matched: the subscription is gone, or another failure made the streak recent in between.
        if (!(await getSubscription(id))) return undefined;
      }
      return undefined;
    },
    async recordEndpointSuccess(id: string): Promise<void> {
      try {
        await db.send(new UpdateCommand({
          TableName,
          Key: subscriptionKey(id),
          UpdateExpression: "REMOVE failingSince, lastFailureAt",
          ConditionExpression: "attribute_exists(failingSince) OR attribute_exists(lastFailureAt)",
        }));
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    /**
     * Remember an EventBridge event. `fannedOut` says whether an earlier delivery of the same
     * event already created every notification for it (then a redelivery has nothing to do).
     */
    async recordEvent(eventId: string, detailType: string): Promise<{ fannedOut: boolean }> {
      try {
        await db.send(new PutCommand({
          TableName,
          Item: { ...eventKey(eventId), detailType, receivedAt: now().toISOString(), expiresAt: expiresAt() },
          ConditionExpression: "attribute_not_exists(pk)",
        }));
        return { fannedOut: false };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const { Item } = await db.send(new GetCommand({ TableName, Key: eventKey(eventId), ConsistentRead: true }));
        return { fannedOut: Boolean(Item?.fannedOutAt) };
      }
    },
    async markEventFannedOut(eventId: string, deliveries: number): Promise<void> {
      await db.send(new UpdateCommand({
        TableName,
        Key: eventKey(eventId),
        UpdateExpression: "SET fannedOutAt = :now, deliveries = :n",
        ExpressionAttributeValues: { ":now": now().toISOString(), ":n": deliveries },
      }));
    },

    /** Creates the delivery unless one with this id exists; either way returns the stored one. */
    async createDelivery(delivery: Omit<Delivery, "status" | "attempts" | "createdAt" | "updatedAt">): Promise<{ created: boolean; delivery: Delivery }> {
      const at = now().toISOString();
      const item: Delivery = { ...delivery, status: "pending", attempts: 0, createdAt: at, updatedAt: at };
      try {
        await db.send(new PutCommand({
          TableName,
          Item: { ...deliveryKey(delivery.id), ...item, gsi1pk: `SUB#${delivery.subscriptionId}`, gsi1sk: `${at}#${delivery.id}`, expiresAt: expiresAt() },
          ConditionExpression: "attribute_not_exists(pk)",
        }));
        return { created: true, delivery: item };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const existing = await this.getDelivery(delivery.id);
        return { created: false, delivery: existing! };
      }
    },
    async getDelivery(id: string): Promise<Delivery | undefined> {
      const { Item } = await db.send(new GetCommand({ TableName, Key: deliveryKey(id), ConsistentRead: true }));
      return Item ? strip<Delivery & Record<string, unknown>>(Item) : undefined;
    },
    /** The delivery with every attempt, oldest first. */
    async getDeliveryLog(id: string): Promise<{ delivery: Delivery; log: AttemptRecord[] } | undefined> {
      const { Items = [] } = await db.send(new QueryCommand({ TableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": `DLV#${id}` }, ConsistentRead: true }));
      const head = Items.find((item) => item.sk === "DLV");
      if (!head) return undefined;
      const log = Items.filter((item) => String(item.sk).startsWith("ATTEMPT#")).map((item) => strip<AttemptRecord & Record<string, unknown>>(item));
      return { delivery: strip<Delivery & Record<string, unknown>>(head), log };
    },
    /** A subscription's deliveries, newest first. */
    async listDeliveries(subscriptionId: string, filter: { status?: DeliveryStatus; since?: string; limit?: number } = {}): Promise<Delivery[]> {
      const found: Delivery[] = [];
      const limit = filter.limit ?? 100;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new QueryCommand({
          TableName,
          IndexName: "bySubscription",
          KeyConditionExpression: filter.since ? "gsi1pk = :pk AND gsi1sk >= :since" : "gsi1pk = :pk",
          ...(filter.status ? { FilterExpression: "#status = :status" } : {}),
          ExpressionAttributeNames: filter.status ? { "#status": "status" } : undefined,
          ExpressionAttributeValues: { ":pk": `SUB#${subscriptionId}`, ...(filter.since ? { ":since": filter.since } : {}), ...(filter.status ? { ":status": filter.status } : {}) },
          ScanIndexForward: false,
          ExclusiveStartKey,
        }));
        for (const item of page.Items ?? []) if (found.length < limit) found.push(strip<Delivery & Record<string, unknown>>(item));
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
      try {
        await db.send(new UpdateCommand({
          TableName,
          Key: deliveryKey(id),
          UpdateExpression: "SET #status = :failed, failure = :failure, updatedAt = :now REMOVE leaseUntil, nextAttemptAt",
          ConditionExpression: "(#status IN (:pending, :sending, :retrying) AND attempts < :attempt) OR (#status = :retrying AND attempts = :attempt)",
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
        }));
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
    /**
     * Take attempt `attempt` of a delivery: only when exactly `attempt - 1` were made and nobody
     * holds it (or the holder's lease lapsed: it crashed mid-send). Exactly one caller wins.
     */
    async claimAttempt(id: string, attempt: number, leaseMs: number): Promise<boolean> {
      const at = now();
      try {
        await db.send(new UpdateCommand({
          TableName,
          Key: deliveryKey(id),
          UpdateExpression: "SET #status = :sending, leaseUntil = :lease, updatedAt = :now",
          ConditionExpression: "attempts = :made AND (#status IN (:pending, :retrying) OR (#status = :sending AND leaseUntil < :now))",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":sending": "sending",
            ":pending": "pending",
            ":retrying": "retrying",
            ":made": attempt - 1,
            ":lease": new Date(at.getTime() + leaseMs).toISOString(),
            ":now": at.toISOString(),
          },
        }));
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
    /** Log the attempt, then move the delivery on: succeeded, failed for good, or retrying at `nextAttemptAt`. */
    async recordAttempt(id: string, record: AttemptRecord, next: { status: "succeeded" | "failed" | "retrying"; nextAttemptAt?: string }): Promise<boolean> {
      await db.send(new PutCommand({
        TableName,
        Item: { pk: `DLV#${id}`, sk: `ATTEMPT#${String(record.attempt).padStart(4, "0")}`, ...record, expiresAt: expiresAt() },
      }));
      try {
        await db.send(new UpdateCommand({
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
        }));
        return true;
      } catch (error) {
        // Our lease lapsed and another worker already recorded this attempt: its record stands.
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
  };
}

export type NotificationStore = ReturnType<typeof createNotificationStore>;
