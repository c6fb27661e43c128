import type { SESv2Client } from "@aws-sdk/client-sesv2";
import {
  SigningSecretUnreadable,
  type AttemptRecord,
  type Delivery,
  type NotificationStore,
  type Subscription,
  type WebhookSubscription,
} from "@quire/notifications";
import { defineConsumer, PermanentError, type ConsumerContext } from "@quire/runtime";
import type { QuireMetrics } from "@quire/telemetry";
import type { AddressGuard } from "@quire/webhooks";
import type { DeliverySettings } from "../settings.ts";
import { attemptEmail } from "./email.ts";
import { attemptMessage, type AttemptMessage, type AttemptQueue } from "./queue.ts";
import { attemptWebhook } from "./webhook.ts";

export interface DeliveryWorkerDependencies {
  store: NotificationStore;
  queue: AttemptQueue;
  guard: AddressGuard;
  ses: SESv2Client;
  settings: DeliverySettings;
  /** WebhookDeliveries / WebhookFailures, one per attempt made. */
  metrics?: Pick<QuireMetrics, "webhookAttempt">;
  now?: () => Date;
}

type Next = { status: "succeeded" | "failed" | "retrying"; nextAttemptAt?: string };

/** Why a delivery is not attempted: its subscription is gone or not active. */
function notDeliverable(subscription: Subscription | undefined): { code: string; message: string } | undefined {
  if (!subscription) return { code: "SUBSCRIPTION_DELETED", message: "The subscription was deleted." };
  if (subscription.status === "disabled")
    return {
      code: "SUBSCRIPTION_DISABLED",
      message: `The subscription is disabled (${subscription.disabledReason?.code ?? "by request"}).`,
    };
  if (subscription.status === "pending_confirmation")
    return { code: "SUBSCRIPTION_NOT_CONFIRMED", message: "The address has not confirmed the subscription yet." };
  return undefined;
}

/**
 * The delivery worker: one SQS message = one attempt of one delivery. The attempt is claimed
 * conditionally (attempts made = n-1, nobody sending), so a duplicated message never sends twice;
 * a failure schedules the next attempt as a delayed message and returns at once.
 */
export function createDeliveryWorker(deps: DeliveryWorkerDependencies) {
  const now = deps.now ?? (() => new Date());
  const { store, queue, settings } = deps;
  // Long enough for one attempt (timeout, capped body) and its log writes; a crashed worker's
  // claim lapses after it, and SQS's redelivery of the same message takes over.
  const leaseMs = settings.timeoutMs + 30_000;
  // A failure streak survives gaps up to the longest retry delay: the most one retrying delivery
  // leaves between two failures, plus its attempt's own time (the lease covers that and SQS's
  // whole-second rounding). A longer silence means nobody was trying, so nobody saw it fail.
  const streakGapMs = Math.max(0, ...settings.retryDelaysMs) + leaseMs;

  async function decide(
    subscription: Subscription,
    _delivery: Delivery,
    record: AttemptRecord,
    log: ConsumerContext["log"],
  ): Promise<Next> {
    if (record.outcome === "delivered") {
      await store.recordEndpointSuccess(subscription.id);
      return { status: "succeeded" };
    }
    if (record.outcome === "gone") {
      await store.disableSubscription(subscription.id, {
        code: "ENDPOINT_GONE",
        message: "The endpoint answered 410 Gone.",
      });
      log.warn("subscription disabled: endpoint answered 410 Gone", { subscriptionId: subscription.id });
      return { status: "failed" };
    }
    // Refused by the SSRF guard: retrying cannot help until the allowlist changes (then replay).
    if (record.outcome === "refused") return { status: "failed" };
    const failingSince = await store.recordEndpointFailure(subscription.id, { maxGapMs: streakGapMs });
    if (failingSince && now().getTime() - Date.parse(failingSince) >= settings.disableAfterMs) {
      await store.disableSubscription(subscription.id, {
        code: "CONSECUTIVE_FAILURES",
        message: `Every attempt since ${failingSince} failed.`,
      });
      log.warn("subscription disabled after failing too long", { subscriptionId: subscription.id, failingSince });
      return { status: "failed" };
    }
    const delay = settings.retryDelaysMs[record.attempt - 1];
    if (delay === undefined) return { status: "failed" };
    return { status: "retrying", nextAttemptAt: new Date(now().getTime() + delay).toISOString() };
  }

  /**
   * A webhook's signing secrets, decrypted. A KMS failure that may pass (throttled, key disabled,
   * access denied) is thrown as is: the attempt is not claimed yet, so SQS brings the message back.
   * A secret that can never decrypt (changed, or another subscription's) fails the delivery now,
   * with a reason that names the subscription and never the secret.
   */
  async function signingSecrets(subscription: WebhookSubscription): Promise<string[]> {
    try {
      return await store.signingSecrets(subscription, now());
    } catch (error) {
      if (error instanceof SigningSecretUnreadable)
        throw new PermanentError("SIGNING_SECRET_UNREADABLE", error.message, { cause: error });
      throw error;
    }
  }

  return defineConsumer({
    name: "notifier-deliveries",
    schema: attemptMessage,
    /**
     * The host gave up on an attempt message (its receives exhausted, say SQS or the store kept
     * failing): nothing else would ever move its delivery on, so it fails with the reason, and a
     * replay can send it again. A message too broken to name its attempt leaves deliveries alone.
     */
    async onDeadLetter(raw, reason, ctx) {
      const parsed = attemptMessage.safeParse(raw);
      if (!parsed.success) return;
      const { deliveryId, attempt } = parsed.data;
      const failed = await store.failDelivery(deliveryId, attempt, reason);
      ctx.log.warn(
        failed
          ? "delivery failed: its attempt was dead-lettered"
          : "dead-lettered attempt was stale; delivery left as is",
        { deliveryId, attempt, reason: reason.code },
      );
    },
    async handle(message: AttemptMessage, ctx) {
      const log = ctx.log.child({ deliveryId: message.deliveryId, attempt: message.attempt });
      const delivery = await store.getDelivery(message.deliveryId);
      if (!delivery) {
        log.warn("no such delivery (expired or never created); dropping the attempt");
        return;
      }
      if (delivery.status === "succeeded" || delivery.status === "failed") return;
      if (delivery.attempts >= message.attempt) {
        // This attempt was made. If it scheduled the next one, that message may have been lost
        // with a crash right after the log write: send it again (its claim dedupes).
        if (delivery.status === "retrying" && delivery.attempts === message.attempt) {
          await queue.enqueue({
            deliveryId: delivery.id,
            attempt: message.attempt + 1,
            ...(delivery.nextAttemptAt ? { notBefore: delivery.nextAttemptAt } : {}),
          });
        }
        return;
      }
      if (message.notBefore && queue.delayOf(message) > 0) {
        await queue.enqueue(message);
        return;
      }

      const subscription = await store.getSubscription(delivery.subscriptionId);
      const blocked = notDeliverable(subscription);
      const secrets = !blocked && subscription?.kind === "webhook" ? await signingSecrets(subscription) : [];
      if (!(await store.claimAttempt(delivery.id, message.attempt, leaseMs))) {
        const current = await store.getDelivery(delivery.id);
        // Someone else is sending this very attempt: let SQS bring the message back to see how it went.
        if (current?.status === "sending" && current.attempts < message.attempt)
          throw new Error(`attempt ${message.attempt} of ${delivery.id} is in progress elsewhere`);
        return;
      }
      if (blocked || !subscription) {
        await store.recordAttempt(
          delivery.id,
          { attempt: message.attempt, at: now().toISOString(), outcome: "skipped", latencyMs: 0, error: blocked! },
          { status: "failed" },
        );
        log.info("delivery skipped", { reason: blocked?.code });
        return;
      }

      const record =
        subscription.kind === "webhook"
          ? await attemptWebhook(deps, subscription, secrets, delivery, message.attempt)
          : await attemptEmail(deps, subscription, delivery, message.attempt);
      const { requested: _requested, ...logged } = record as AttemptRecord & { requested?: string[] };
      if (subscription.kind === "webhook")
        deps.metrics?.webhookAttempt(logged.outcome === "delivered" ? "delivered" : "failed");
      const next = await decide(subscription, delivery, logged, log);
      const recorded = await store.recordAttempt(delivery.id, logged, next);
      log.info(`delivery ${next.status}`, {
        subscriptionId: subscription.id,
        eventType: delivery.eventType,
        outcome: logged.outcome,
        ...(logged.statusCode !== undefined ? { statusCode: logged.statusCode } : {}),
        ...(logged.error ? { error: logged.error.code } : {}),
        ...(next.nextAttemptAt ? { nextAttemptAt: next.nextAttemptAt } : {}),
      });
      if (recorded && next.status === "retrying") {
        await queue.enqueue({ deliveryId: delivery.id, attempt: message.attempt + 1, notBefore: next.nextAttemptAt! });
      }
    },
  });
}
