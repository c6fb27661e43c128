import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionally, isConditionFailure, type StoreTable } from "@quire/dynamo";
import type { SealedSecret, SecretBox } from "../secrets.ts";
import {
  isSealed,
  type NewSubscription,
  type SigningSecret,
  type Subscription,
  type SubscriptionStatus,
  type WebhookSubscription,
} from "../subscriptions.ts";
import { strip, SUBSCRIPTIONS, subscriptionKey } from "./keys.ts";

/** What a rotation came to. `conflict`: another rotation changed the secret after this one read it, and won. */
export type SecretRotation =
  | { outcome: "rotated"; subscription: WebhookSubscription }
  | { outcome: "conflict" }
  | { outcome: "not-found" }
  | { outcome: "not-a-webhook" };

type StoredSecret = SealedSecret & { expiresAt?: string };

/**
 * Subscription records. Every transition is a conditional write on the subscription item, so two
 * requests (or a request and a delivery worker) changing one subscription cannot both act.
 * Webhook signing secrets are sealed with `secrets` (KMS) before any write: the table never
 * holds one in plain text.
 */
export function createSubscriptionRecords(table: StoreTable, secrets: SecretBox) {
  const { db, tableName: TableName, now } = table;
  const asSubscription = (item: Record<string, unknown>) => strip<Subscription>(item);

  async function getSubscription(id: string): Promise<Subscription | undefined> {
    const { Item } = await db.send(new GetCommand({ TableName, Key: subscriptionKey(id), ConsistentRead: true }));
    return Item ? asSubscription(Item) : undefined;
  }

  /**
   * SET some attributes, REMOVE others, on condition; the subscription as it now is, or undefined if the condition
   * failed.
   */
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

  /** Every subscription. Few enough to read whole: they are people's endpoints, not documents. */
  async function listSubscriptions(): Promise<Subscription[]> {
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
  }

  /** A secret as it is to be stored: sealed already, or sealed now; its overlap end kept. */
  async function sealed(subscriptionId: string, secret: SigningSecret, expiresAt = secret.expiresAt) {
    const { ciphertext, keyId } = isSealed(secret) ? secret : await secrets.seal(subscriptionId, secret.secret);
    return { ciphertext, keyId, ...(expiresAt !== undefined ? { expiresAt } : {}) } satisfies StoredSecret;
  }

  /**
   * Replace a webhook's secrets if nobody changed them since `current` was read: the write is
   * conditional on the secret version read (or on there being none, for a record from before
   * versions), and bumps it.
   */
  async function replaceSecrets(
    current: WebhookSubscription,
    next: StoredSecret[],
  ): Promise<WebhookSubscription | "conflict" | "not-found"> {
    const version = current.secretVersion;
    try {
      const { Attributes } = await db.send(
        new UpdateCommand({
          TableName,
          Key: subscriptionKey(current.id),
          UpdateExpression: "SET #secrets = :secrets, #version = :next, #updatedAt = :at",
          ConditionExpression: `attribute_exists(pk) AND ${
            version === undefined ? "attribute_not_exists(#version)" : "#version = :version"
          }`,
          ExpressionAttributeNames: { "#secrets": "secrets", "#version": "secretVersion", "#updatedAt": "updatedAt" },
          ExpressionAttributeValues: {
            ":secrets": next,
            ":next": (version ?? 0) + 1,
            ":at": now().toISOString(),
            ...(version === undefined ? {} : { ":version": version }),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return asSubscription(Attributes!) as WebhookSubscription;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return (await getSubscription(current.id)) ? "conflict" : "not-found";
    }
  }

  return {
    /** Store a new subscription; a webhook's secrets are sealed first. Returns it as stored. */
    async createSubscription(subscription: NewSubscription): Promise<Subscription> {
      const stored: Subscription =
        subscription.kind === "webhook"
          ? {
              ...subscription,
              secrets: await Promise.all(subscription.secrets.map((secret) => sealed(subscription.id, secret))),
              secretVersion: 1,
            }
          : subscription;
      await db.send(
        new PutCommand({
          TableName,
          Item: { ...subscriptionKey(stored.id), ...stored },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return stored;
    },
    getSubscription,
    listSubscriptions,
    async deleteSubscription(id: string): Promise<boolean> {
      const { Attributes } = await db.send(
        new DeleteCommand({ TableName, Key: subscriptionKey(id), ReturnValues: "ALL_OLD" }),
      );
      return Attributes !== undefined;
    },
    /**
     * The new secret signs first; the old ones keep signing until `overlapUntil` (rotation without
     * a gap), and one whose overlap already ended is dropped. A plain-text secret of an older
     * record is sealed on the way. The write is conditional on the secret version read: of two
     * concurrent rotations exactly one is `rotated`, the other `conflict` (and its secret is never
     * stored, so it must not be handed out).
     */
    async rotateSecret(id: string, secret: string, overlapUntil: Date): Promise<SecretRotation> {
      const current = await getSubscription(id);
      if (!current) return { outcome: "not-found" };
      if (current.kind !== "webhook") return { outcome: "not-a-webhook" };
      const at = now().getTime();
      const kept = await Promise.all(
        current.secrets
          .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > at)
          .map((s) =>
            sealed(
              id,
              s,
              new Date(
                Math.min(Date.parse(s.expiresAt ?? overlapUntil.toISOString()), overlapUntil.getTime()),
              ).toISOString(),
            ),
          ),
      );
      const result = await replaceSecrets(current, [await sealed(id, { secret }), ...kept]);
      return typeof result === "string" ? { outcome: result } : { outcome: "rotated", subscription: result };
    },
    /**
     * The secrets that sign a delivery now, in plain text: the current one and any rotated-out
     * one still inside its overlap, decrypted (briefly cached in memory, see kmsSecretBox). Only
     * the delivery worker calls this; nothing it returns may be logged or stored.
     */
    async signingSecrets(subscription: WebhookSubscription, at = now()): Promise<string[]> {
      const live = subscription.secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > at.getTime());
      return Promise.all(live.map((s) => (isSealed(s) ? secrets.open(subscription.id, s) : s.secret)));
    },
    /**
     * Seal every secret still stored in plain text (records from before secrets were encrypted),
     * without rotating it: receivers notice nothing. Each subscription is one conditional write;
     * one rotated meanwhile is left to that rotation, which seals it too. Safe to run again.
     */
    async encryptPlaintextSecrets(): Promise<{ sealed: number; skipped: number }> {
      let sealedCount = 0;
      let skipped = 0;
      for (const subscription of await listSubscriptions()) {
        if (subscription.kind !== "webhook" || subscription.secrets.every(isSealed)) continue;
        const next = await Promise.all(subscription.secrets.map((s) => sealed(subscription.id, s)));
        if (typeof (await replaceSecrets(subscription, next)) === "string") skipped++;
        else sealedCount++;
      }
      return { sealed: sealedCount, skipped };
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
