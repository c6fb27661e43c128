import { randomBytes } from "node:crypto";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import { deliveryId as deliveryIdSchema, isoTimestamp, newDeliveryId, newSubscriptionId, subscriptionId as subscriptionIdSchema } from "@quire/contracts";
import { ApiError, createApiApp, jsonBody, limitBody, parseJsonBody, validationFailed } from "@quire/http-api";
import {
  compileSubscriptionFilter,
  defaultEmailEvents,
  InvalidEventPatternError,
  renderConfirmationEmail,
  subscriptionInput,
  subscriptionView,
  type Delivery,
  type DeliveryStatus,
  type NotificationStore,
  type Subscription,
} from "@quire/notifications";
import { generateWebhookSecret, WebhookTargetRefused, type AddressGuard } from "@quire/webhooks";
import type { Context } from "hono";
import { z } from "zod";
import { sendRenderedEmail } from "./delivery/email.ts";
import type { AttemptQueue } from "./delivery/queue.ts";
import { replayIdFor } from "./handler.ts";
import type { DeliverySettings } from "./settings.ts";

export interface NotifierApiDependencies {
  store: NotificationStore;
  queue: AttemptQueue;
  guard: AddressGuard;
  ses: SESv2Client;
  settings: DeliverySettings;
  apiKey: string;
}

const DELIVERY_STATUSES = ["pending", "sending", "retrying", "succeeded", "failed"] as const satisfies readonly DeliveryStatus[];
const deliveryQuery = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  since: isoTimestamp.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const rotateInput = z.strictObject({ overlapSeconds: z.number().int().min(0).max(7 * 24 * 3600).optional() }).default({});
const replaySinceInput = z.strictObject({ since: isoTimestamp });

/**
 * Every body this API takes is a few hundred bytes of JSON (a filter at most 16 KiB): 64 KiB is
 * plenty, and keeps anything near DynamoDB's 400 KB item from reaching the store.
 */
export const MAX_BODY_BYTES = 64 * 1024;
/** How many of a subscription's latest deliveries a bulk replay looks through. */
const BULK_REPLAY_SCAN = 5000;
/** Statuses that mean a message needs no replay: delivered, or on its way. */
const SETTLED_OR_UNDERWAY: readonly DeliveryStatus[] = ["succeeded", "pending", "sending", "retrying"];

/**
 * What a bulk replay sends: per message (webhook-id), the latest delivery, when every delivery
 * of it failed. One replay per message however many earlier replays failed too, and none for a
 * message already delivered or still being tried. In the order they were last tried, oldest first.
 */
export function deliveriesToReplay(newestFirst: readonly Delivery[]): Delivery[] {
  const latest = new Map<string, Delivery>();
  const underway = new Set<string>();
  for (const delivery of newestFirst) {
    if (!latest.has(delivery.messageId)) latest.set(delivery.messageId, delivery);
    if (SETTLED_OR_UNDERWAY.includes(delivery.status)) underway.add(delivery.messageId);
  }
  return [...latest.values()].filter((delivery) => !underway.has(delivery.messageId)).reverse();
}

export function deliveryView(delivery: Delivery) {
  const { payload: _payload, leaseUntil: _lease, ...rest } = delivery;
  return { ...rest, links: { self: `/v1/deliveries/${delivery.id}`, subscription: `/v1/subscriptions/${delivery.subscriptionId}` } };
}

/**
 * The notifier's HTTP API: subscriptions (webhook and email), their delivery log, replay. Same
 * conventions as ingestion (x-api-key, /health, `{ error: { code, message } }`). Secrets are shown
 * only when created or rotated. Email confirmation links are the one unauthenticated route:
 * the token in the link is the proof.
 */
export function createNotifierApi(deps: NotifierApiDependencies) {
  const { store, settings } = deps;
  const app = createApiApp({ service: "notifier", apiKey: deps.apiKey });
  app.use("/v1/*", limitBody(MAX_BODY_BYTES));

  async function subscriptionOr404(c: Context): Promise<Subscription> {
    const id = subscriptionIdSchema.safeParse(c.req.param("id"));
    const subscription = id.success ? await store.getSubscription(id.data) : undefined;
    if (!subscription) throw new ApiError(404, "SUBSCRIPTION_NOT_FOUND", `No subscription ${c.req.param("id")}.`);
    return subscription;
  }
  async function deliveryOr404(c: Context): Promise<Delivery> {
    const id = deliveryIdSchema.safeParse(c.req.param("id"));
    const delivery = id.success ? await store.getDelivery(id.data) : undefined;
    if (!delivery) throw new ApiError(404, "DELIVERY_NOT_FOUND", `No delivery ${c.req.param("id")}.`);
    return delivery;
  }
  /** Sending to a disabled or unconfirmed subscription would only fail as SUBSCRIPTION_DISABLED later: refuse now. */
  function requireActive(subscription: Subscription, doing: string): void {
    if (subscription.status === "active") return;
    const hint = subscription.status === "disabled" ? " Enable it first (POST /v1/subscriptions/{id}/enable)." : "";
    throw new ApiError(409, "SUBSCRIPTION_NOT_ACTIVE", `The subscription is ${subscription.status}; only an active one can be ${doing}.${hint}`);
  }
  /**
   * Queue a new delivery's first attempt. The delivery must exist first (the worker drops an
   * attempt whose delivery it cannot find), so when the send fails the delivery is failed with
   * the reason rather than left pending with nothing queued, and the caller gets a 503 to retry.
   */
  async function enqueueFirstAttempt(deliveryId: string, details: Record<string, unknown> = {}): Promise<void> {
    try {
      await deps.queue.enqueue({ deliveryId, attempt: 1 });
    } catch (error) {
      const reason = { code: "ENQUEUE_FAILED", message: `The first attempt could not be queued: ${(error as Error).message}` };
      try {
        await store.failDelivery(deliveryId, 1, reason);
      } catch (storeError) {
        console.error(JSON.stringify({ level: "error", service: "notifier", message: "could not fail an unqueued delivery", deliveryId, error: String(storeError) }));
      }
      throw new ApiError(503, "DELIVERY_NOT_QUEUED", "The delivery could not be queued; try again.", { deliveryId, ...details });
    }
  }
  /** A replay is a new delivery of the same message (same webhook-id, so receivers can dedupe). */
  async function replay(original: Delivery, id: string = newDeliveryId(), details?: Record<string, unknown>): Promise<string | undefined> {
    const { created } = await store.createDelivery({
      id,
      subscriptionId: original.subscriptionId,
      eventId: original.eventId,
      eventType: original.eventType,
      messageId: original.messageId,
      payload: original.payload,
      replayOf: original.id,
    });
    // A concurrent bulk replay made this very replay already (its id derives from the original).
    if (!created) return undefined;
    await enqueueFirstAttempt(id, details);
    return id;
  }

  app.post("/v1/subscriptions", async (c) => {
    const parsed = subscriptionInput.safeParse(await jsonBody(c));
    if (!parsed.success) {
      // A filter over the limits gets its own code (FILTER_TOO_DEEP, FILTER_TOO_LARGE), not VALIDATION_FAILED.
      const limit = parsed.error.issues.find((issue): issue is z.core.$ZodIssueCustom => issue.code === "custom" && typeof issue.params?.code === "string");
      if (limit) throw new ApiError(400, String(limit.params!.code), `${limit.path.join(".")}: ${limit.message}`);
      throw validationFailed(parsed.error);
    }
    const input = parsed.data;
    try {
      compileSubscriptionFilter(input.filter);
    } catch (error) {
      if (error instanceof InvalidEventPatternError) throw new ApiError(400, "INVALID_FILTER", `filter.pattern: ${error.message}`);
      throw error;
    }
    const at = new Date().toISOString();
    const base = { id: newSubscriptionId(), ...(input.filter ? { filter: input.filter } : {}), ...(input.description ? { description: input.description } : {}), createdAt: at, updatedAt: at };
    if (input.kind === "webhook") {
      try {
        await deps.guard.vet(input.url);
      } catch (error) {
        if (error instanceof WebhookTargetRefused) {
          throw new ApiError(422, "WEBHOOK_URL_NOT_ALLOWED", `${error.message} (${deps.guard.describe()})`, { reason: error.code });
        }
        throw error;
      }
      const secret = generateWebhookSecret();
      const subscription: Subscription = { ...base, kind: "webhook", url: input.url, events: input.events, status: "active", secrets: [{ secret }] };
      await store.createSubscription(subscription);
      return c.json({ ...subscriptionView(subscription), secret }, 201, { location: `/v1/subscriptions/${subscription.id}` });
    }
    const token = randomBytes(24).toString("base64url");
    const subscription: Subscription = {
      ...base,
      kind: "email",
      address: input.address,
      mode: input.mode,
      events: input.events ?? defaultEmailEvents(input.mode),
      status: "pending_confirmation",
      confirmationToken: token,
    };
    await store.createSubscription(subscription);
    const confirmUrl = `${settings.notifierPublicUrl}/email/confirm?subscription=${subscription.id}&token=${token}`;
    const email = renderConfirmationEmail({ address: input.address, mode: input.mode, confirmUrl });
    await sendRenderedEmail(deps.ses, settings.emailFrom, input.address, email);
    return c.json(subscriptionView(subscription), 201, { location: `/v1/subscriptions/${subscription.id}` });
  });

  app.get("/v1/subscriptions", async (c) => {
    const subscriptions = await store.listSubscriptions();
    return c.json({ subscriptions: subscriptions.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(subscriptionView) });
  });

  app.get("/v1/subscriptions/:id", async (c) => c.json(subscriptionView(await subscriptionOr404(c))));

  app.delete("/v1/subscriptions/:id", async (c) => {
    const subscription = await subscriptionOr404(c);
    await store.deleteSubscription(subscription.id);
    return c.body(null, 204);
  });

  app.post("/v1/subscriptions/:id/rotate-secret", async (c) => {
    const subscription = await subscriptionOr404(c);
    if (subscription.kind !== "webhook") throw new ApiError(409, "NOT_A_WEBHOOK", "Only webhook subscriptions have signing secrets.");
    const body = c.req.header("content-type")?.includes("application/json") ? await parseJsonBody(c, rotateInput) : {};
    const overlapMs = body.overlapSeconds !== undefined ? body.overlapSeconds * 1000 : settings.secretOverlapMs;
    const previousSecretExpiresAt = new Date(Date.now() + overlapMs);
    const secret = generateWebhookSecret();
    const rotated = await store.rotateSecret(subscription.id, secret, previousSecretExpiresAt);
    if (!rotated) throw new ApiError(404, "SUBSCRIPTION_NOT_FOUND", `No subscription ${subscription.id}.`);
    return c.json({ secret, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() });
  });

  app.post("/v1/subscriptions/:id/test", async (c) => {
    const subscription = await subscriptionOr404(c);
    requireActive(subscription, "tested");
    const id = newDeliveryId();
    const at = new Date().toISOString();
    await store.createDelivery({
      id,
      subscriptionId: subscription.id,
      eventId: `ping_${id.slice(4)}`,
      eventType: "ping",
      messageId: `msg_${id.slice(4)}`,
      payload: { type: "ping", timestamp: at, data: { subscriptionId: subscription.id, message: "A test notification from Quire." } },
    });
    await enqueueFirstAttempt(id);
    return c.json({ deliveryId: id, links: { delivery: `/v1/deliveries/${id}` } }, 202);
  });

  app.post("/v1/subscriptions/:id/enable", async (c) => {
    const subscription = await subscriptionOr404(c);
    if (subscription.status === "pending_confirmation") {
      throw new ApiError(409, "SUBSCRIPTION_NOT_CONFIRMED", "The address must confirm the subscription through the emailed link.");
    }
    const enabled = await store.enableSubscription(subscription.id);
    if (!enabled) throw new ApiError(404, "SUBSCRIPTION_NOT_FOUND", `No subscription ${subscription.id}.`);
    return c.json(subscriptionView(enabled));
  });

  app.get("/v1/subscriptions/:id/deliveries", async (c) => {
    const subscription = await subscriptionOr404(c);
    const query = deliveryQuery.safeParse(c.req.query());
    if (!query.success) throw validationFailed(query.error);
    const deliveries = await store.listDeliveries(subscription.id, {
      limit: query.data.limit,
      ...(query.data.status ? { status: query.data.status } : {}),
      ...(query.data.since ? { since: query.data.since } : {}),
    });
    return c.json({ deliveries: deliveries.map(deliveryView) });
  });

  app.post("/v1/subscriptions/:id/replay", async (c) => {
    const subscription = await subscriptionOr404(c);
    const { since } = await parseJsonBody(c, replaySinceInput);
    requireActive(subscription, "replayed");
    const deliveries = await store.listDeliveries(subscription.id, { since: new Date(since).toISOString(), limit: BULK_REPLAY_SCAN });
    const deliveryIds: string[] = [];
    for (const latest of deliveriesToReplay(deliveries)) {
      const id = await replay(latest, replayIdFor(latest.id), { replayed: deliveryIds });
      if (id) deliveryIds.push(id);
    }
    return c.json({ replayed: deliveryIds.length, deliveryIds }, 202);
  });

  app.get("/v1/deliveries/:id", async (c) => {
    const delivery = await deliveryOr404(c);
    const found = await store.getDeliveryLog(delivery.id);
    return c.json({ ...deliveryView(found?.delivery ?? delivery), payload: delivery.payload, log: found?.log ?? [] });
  });

  app.post("/v1/deliveries/:id/replay", async (c) => {
    const delivery = await deliveryOr404(c);
    const subscription = await store.getSubscription(delivery.subscriptionId);
    if (!subscription) throw new ApiError(409, "SUBSCRIPTION_DELETED", `The subscription ${delivery.subscriptionId} was deleted; there is nothing to replay to.`);
    requireActive(subscription, "replayed");
    const id = (await replay(delivery))!;
    return c.json({ deliveryId: id, replayOf: delivery.id, links: { delivery: `/v1/deliveries/${id}` } }, 202);
  });

  app.get("/email/confirm", async (c) => {
    const id = subscriptionIdSchema.safeParse(c.req.query("subscription"));
    const token = c.req.query("token");
    const confirmed = id.success && token ? await store.confirmEmail(id.data, token) : undefined;
    if (!confirmed) {
      return c.html("<!doctype html><p>This confirmation link is not valid (already used, or the subscription was deleted).</p>", 404);
    }
    return c.html(`<!doctype html><p>Confirmed: ${confirmed.kind === "email" ? confirmed.address : ""} will receive Quire notifications.</p>`);
  });

  return app;
}
