import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionally, isConditionFailure, type StoreTable } from "@quire/dynamo";
import type { SigningSecret, Subscription, SubscriptionStatus } from "../subscriptions.ts";
import { strip, SUBSCRIPTIONS, subscriptionKey } from "./keys.ts";

/**
 * Subscription records. Every transition is a conditional write on the subscription item, so two
 * requests (or a request and a delivery worker) changing one subscription cannot both act.
 */
export function createSubscriptionRecords(table: StoreTable) {
  const { db, tableName: TableName, now } = table;
  const asSubscription = (item: Record<string, unknown>) => strip<Subscription>(item);

  async function getSubscription(id: string): Promise<Subscription | undefined> {
    const { Item } = await db.send(new GetCommand({ TableName, Key: subscriptionKey(id), ConsistentRead: true }));
    return Item ? asSubscription(Item) : undefined;
  }

  /** SET some attributes, REMOVE others, on condition; the subscription as it now is, or undefined if the condition failed. */
  async function updateSubscription(
    id: string,
    set: Record<string, unknown>,
    remove: string[] = [],
    condition?: { expression: string; values?: Record<string, unknown> },
  ): Promise<Subscription | undefined> {
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
      return asSubscription(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  return {
    async createSubscription(subscription: Subscription): Promise<void> {
      await db.send(
        new PutCommand({
          TableName,
          Item: { ...subscriptionKey(subscription.id), ...subscription },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    },
    getSubscription,
    /** Every subscription. Few enough to read whole: they are people's endpoints, not documents. */
    async listSubscriptions(): Promise<Subscription[]> {
      const found: Subscription[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": SUBSCRIPTIONS },
            ExclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) found.push(asSubscription(item));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return found;
    },
    async deleteSubscription(id: string): Promise<boolean> {
      const { Attributes } = await db.send(
        new DeleteCommand({ TableName, Key: subscriptionKey(id), ReturnValues: "ALL_OLD" }),
      );
      return Attributes !== undefined;
    },
    /** The new secret signs first; the old ones keep signing until `overlapUntil` (rotation without a gap). */
    async rotateSecret(id: string, secret: string, overlapUntil: Date): Promise<Subscription | undefined> {
      const current = await getSubscription(id);
      if (current?.kind !== "webhook") return undefined;
      const at = now().getTime();
      const kept: SigningSecret[] = current.secrets
        .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > at)
        .map((s) => ({
          secret: s.secret,
          expiresAt: new Date(
            Math.min(Date.parse(s.expiresAt ?? overlapUntil.toISOString()), overlapUntil.getTime()),
          ).toISOString(),
        }));
      return updateSubscription(id, { secrets: [{ secret }, ...kept] });
    },
    async confirmEmail(id: string, token: string): Promise<Subscription | undefined> {
      return updateSubscription(id, { status: "active" satisfies SubscriptionStatus }, ["confirmationToken"], {
        expression: "confirmationToken = :token",
        values: { ":token": token },
      });
    },
    async disableSubscription(
      id: string,
      reason: { code: string; message: string },
    ): Promise<Subscription | undefined> {
      return updateSubscription(
        id,
        { status: "disabled" satisfies SubscriptionStatus, disabledReason: { ...reason, at: now().toISOString() } },
        [],
        {
          expression: "#status <> :pending",
          values: { ":pending": "pending_confirmation" },
        },
      );
    },
    /** Re-enabling forgives past failures: the disable-after window starts again. */
    async enableSubscription(id: string): Promise<Subscription | undefined> {
      return updateSubscription(
        id,
        { status: "active" satisfies SubscriptionStatus },
        ["disabledReason", "failingSince", "lastFailureAt"],
        {
          expression: "#status = :disabled OR #status = :active",
          values: { ":disabled": "disabled", ":active": "active" },
        },
      );
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
        const continued = await update(
          "SET lastFailureAt = :now, failingSince = if_not_exists(failingSince, :now)",
          "lastFailureAt >= :recent",
        );
        if (continued) return continued;
        const started = await update(
          "SET lastFailureAt = :now, failingSince = :now",
          "attribute_not_exists(lastFailureAt) OR lastFailureAt < :recent",
        );
        if (started) return started;
        // Neither matched: the subscription is gone, or another failure made the streak recent in between.
        if (!(await getSubscription(id))) return undefined;
      }
      return undefined;
    },
    async recordEndpointSuccess(id: string): Promise<void> {
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: subscriptionKey(id),
            UpdateExpression: "REMOVE failingSince, lastFailureAt",
            ConditionExpression: "attribute_exists(failingSince) OR attribute_exists(lastFailureAt)",
          }),
        ),
      );
    },
  };
}

export type SubscriptionRecords = ReturnType<typeof createSubscriptionRecords>;
