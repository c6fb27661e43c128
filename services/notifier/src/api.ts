import type { ApiKeys } from "@quire/api-keys";
import { randomBytes } from "node:crypto";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import {
  deliveryId as deliveryIdSchema,
  isoTimestamp,
  NOTIFICATION_EVENT_TYPES,
  newDeliveryId,
  newSubscriptionId,
  notificationEventType,
  subscriptionId as subscriptionIdSchema,
  webhookPayload,
} from "@quire/contracts";
import {
  ApiError,
  BAD_JSON_BODY,
  createApiApp,
  defineRoute,
  errorResponses,
  INTERNAL,
  json,
  keyScope,
  jsonBody,
  limitBody,
  NOT_JSON,
  parseJsonBody,
  parseOptionalJsonBody,
  payloadTooLarge,
  UNAUTHORIZED,
  validationFailed,
  type ApiDescription,
  type ErrorCodes,
} from "@quire/http-api";
import {
  compileSubscriptionFilter,
  defaultEmailEvents,
  InvalidEventPatternError,
  MAX_FILTER_BYTES,
  MAX_FILTER_DEPTH,
  renderConfirmationEmail,
  subscriptionFilter,
  subscriptionInput,
  subscriptionView,
  type Delivery,
  type DeliveryStatus,
  type NotificationStore,
  type Subscription,
} from "@quire/notifications";
import { generateWebhookSecret, WebhookTargetRefused, type AddressGuard } from "@quire/webhooks";
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
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
  /** The same keys as ingestion's API: one store. */
  keys: Pick<ApiKeys, "authenticator">;
  /** Browser origins allowed to call it (the console's: QUIRE_CONSOLE_ORIGINS). */
  corsOrigins?: readonly string[];
}

const DELIVERY_STATUSES = [
  "pending",
  "sending",
  "retrying",
  "succeeded",
  "failed",
] as const satisfies readonly DeliveryStatus[];
const deliveryStatus = z.enum(DELIVERY_STATUSES);
const deliveryQuery = z.object({
  status: deliveryStatus.optional().meta({ description: "Only deliveries in this status." }),
  since: isoTimestamp
    .optional()
    .meta({ description: "Only deliveries created at or after this time.", example: "2025-01-01T00:00:00Z" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .meta({ type: "integer", description: "At most this many, newest first." }),
});
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
const rotateInput = z
  .strictObject({
    overlapSeconds: z.number().int().min(0).max(MAX_OVERLAP_SECONDS).optional().meta({
      description:
        "How long the previous secret keeps signing beside the new one (default: QUIRE_WEBHOOK_SECRET_OVERLAP, 24 hours unless set).",
      example: 3600,
    }),
  })
  .default({})
  .meta({ id: "RotateSecretInput" });
const replaySinceInput = z
  .strictObject({
    since: isoTimestamp.meta({
      description: "Replay messages whose deliveries all failed, tried since this time.",
      example: "2025-01-01T00:00:00Z",
    }),
  })
  .meta({ id: "ReplayInput" });
/** The body POST /v1/subscriptions takes: the notifications package's schema, named for the document. */
const subscriptionBody = subscriptionInput.meta({ id: "SubscriptionInput" });

const link = z.string().meta({ description: "A path on this API." });
const reason = z.strictObject({ code: z.string(), message: z.string(), at: isoTimestamp });
const subscriptionCommon = {
  id: subscriptionIdSchema,
  events: z.array(notificationEventType).min(1),
  filter: subscriptionFilter.optional(),
  description: z.string().max(500).optional(),
  status: z.enum(["active", "pending_confirmation", "disabled"]).meta({
    description:
      "pending_confirmation: an email subscription until its address confirms; disabled: after its endpoint kept failing (disabledReason), until enabled again.",
  }),
  disabledReason: reason.optional(),
  failingSince: isoTimestamp.optional().meta({ description: "When the current run of failed deliveries began." }),
  lastFailureAt: isoTimestamp.optional(),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  links: z.strictObject({ self: link, deliveries: link }),
};
const webhookFields = {
  kind: z.literal("webhook"),
  url: z.string().meta({ format: "uri", example: "https://example.com/hooks/quire" }),
};
const emailFields = { kind: z.literal("email"), address: z.email(), mode: z.enum(["per-job", "digest"]) };
const webhookSubscriptionView = z
  .strictObject({ ...webhookFields, ...subscriptionCommon })
  .meta({ id: "WebhookSubscription" });
const emailSubscriptionView = z
  .strictObject({ ...emailFields, ...subscriptionCommon })
  .meta({ id: "EmailSubscription" });
const subscriptionViewSchema = z
  .discriminatedUnion("kind", [webhookSubscriptionView, emailSubscriptionView])
  .meta({ id: "Subscription", description: "A subscription as the API shows it: never its secrets." });
const signingSecret = z.string().meta({
  description: "The Standard Webhooks signing secret: shown only here and when rotated.",
  example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
});
const subscriptionCreatedSchema = z
  .discriminatedUnion("kind", [
    z
      .strictObject({ ...webhookFields, ...subscriptionCommon, secret: signingSecret })
      .meta({ id: "WebhookSubscriptionCreated" }),
    emailSubscriptionView,
  ])
  .meta({
    id: "SubscriptionCreated",
    description: "The new subscription; a webhook's with its signing secret, shown only this once.",
  });

const attemptSchema = z
  .strictObject({
    attempt: z.int().min(1),
    at: isoTimestamp,
    outcome: z.enum(["delivered", "failed", "gone", "refused", "skipped"]),
    statusCode: z.int().optional().meta({ description: "The endpoint's HTTP status, when it answered." }),
    latencyMs: z.number().nonnegative(),
    error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
    response: z
      .strictObject({ body: z.string(), truncated: z.boolean() })
      .optional()
      .meta({ description: "The start of the endpoint's answer." }),
  })
  .meta({ id: "DeliveryAttempt" });
const deliveryFields = {
  id: deliveryIdSchema,
  subscriptionId: subscriptionIdSchema,
  eventId: z.string(),
  eventType: z.enum([...NOTIFICATION_EVENT_TYPES, "ping"]),
  messageId: z
    .string()
    .meta({ description: "The Standard Webhooks webhook-id: the same on every attempt and replay of a message." }),
  status: deliveryStatus,
  attempts: z.int().nonnegative(),
  nextAttemptAt: isoTimestamp.optional(),
  lastAttempt: attemptSchema.optional(),
  failure: reason.optional().meta({
    description:
      "Why the delivery failed when no attempt says so (its attempt could not be queued, or was dead-lettered).",
  }),
  replayOf: deliveryIdSchema.optional(),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  links: z.strictObject({ self: link, subscription: link }),
};
const deliveryViewSchema = z.strictObject(deliveryFields).meta({ id: "Delivery" });
const deliveryDetailSchema = z
  .strictObject({
    ...deliveryFields,
    payload: webhookPayload,
    log: z.array(attemptSchema).meta({ description: "Every attempt, oldest first." }),
  })
  .meta({ id: "DeliveryDetail", description: "A delivery with the payload it sends and its attempt log." });
export type DeliveryView = z.output<typeof deliveryViewSchema>;

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

export function deliveryView(delivery: Delivery): DeliveryView {
  const { payload: _payload, leaseUntil: _lease, ...rest } = delivery;
  return {
    ...rest,
    links: { self: `/v1/deliveries/${delivery.id}`, subscription: `/v1/subscriptions/${delivery.subscriptionId}` },
  };
}

/** What the committed openapi.json says about this API. */
export const NOTIFIER_API: ApiDescription = {
  title: "Quire notifier API",
  version: "1.0.0",
  description: `Subscriptions to Quire's job and run outcomes, as signed webhooks (Standard Webhooks) or email, their delivery log, and replay. Every route under /v1/ needs the \`x-api-key\` header, and takes a body of at most ${MAX_BODY_BYTES} bytes (413 PAYLOAD_TOO_LARGE). Every failure is \`{ error: { code, message, details? } }\`; each operation lists the codes it can answer. Generated from the zod schemas the routes validate with (services/notifier/src/api.ts); do not edit by hand.`,
  servers: [{ url: "http://127.0.0.1:3001", description: "Local: npm start (QUIRE_NOTIFIER_PORT)" }],
  tags: [
    { name: "Subscriptions", description: "Who gets which outcomes, and how." },
    { name: "Deliveries", description: "Each message to each subscription, its attempts, and replay." },
    { name: "Email", description: "The link a new email subscription's address confirms it with." },
  ],
};

const SUB_EXAMPLE = "sub_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7";
const DLV_EXAMPLE = "dlv_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7";
const subscriptionParam = z.object({
  id: subscriptionIdSchema.meta({
    example: SUB_EXAMPLE,
    description: "An id that is not a subscription's is 404 too.",
  }),
});
const deliveryParam = z.object({
  id: deliveryIdSchema.meta({ example: DLV_EXAMPLE, description: "An id that is not a delivery's is 404 too." }),
});
const SUBSCRIPTION_NOT_FOUND: ErrorCodes = { SUBSCRIPTION_NOT_FOUND: `No subscription ${SUB_EXAMPLE}.` };
const TOO_LARGE = payloadTooLarge(MAX_BODY_BYTES);
const NOT_ACTIVE =
  "The subscription is disabled; only an active one can be replayed. Enable it first (POST /v1/subscriptions/{id}/enable).";
const ROTATION_CONFLICT =
  "The secret was rotated by another request at the same time, and that rotation won: this one changed nothing and its secret was never stored. Use the secret the other request received, or rotate again.";
const NOT_QUEUED = { message: "The delivery could not be queued; try again.", details: { deliveryId: DLV_EXAMPLE } };
const delivery202 = z.strictObject({ deliveryId: deliveryIdSchema, links: z.strictObject({ delivery: link }) });

/**
 * The notifier's HTTP API: subscriptions (webhook and email), their delivery log, replay. Same
 * conventions as ingestion (x-api-key, /health, `{ error: { code, message } }`). Secrets are shown
 * only when created or rotated. Email confirmation links are the one unauthenticated route:
 * the token in the link is the proof.
 */
export function createNotifierApi(deps: NotifierApiDependencies) {
  const { store, settings } = deps;
  const app = createApiApp({
    service: "notifier",
    authenticate: (presented) => deps.keys.authenticator.authenticate(presented),
    description: NOTIFIER_API,
    ...(deps.corsOrigins ? { corsOrigins: deps.corsOrigins } : {}),
  });
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
    throw new ApiError(
      409,
      "SUBSCRIPTION_NOT_ACTIVE",
      `The subscription is ${subscription.status}; only an active one can be ${doing}.${hint}`,
    );
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
      const reason = {
        code: "ENQUEUE_FAILED",
        message: `The first attempt could not be queued: ${(error as Error).message}`,
      };
      try {
        await store.failDelivery(deliveryId, 1, reason);
      } catch (storeError) {
        console.error(
          JSON.stringify({
            level: "error",
            service: "notifier",
            message: "could not fail an unqueued delivery",
            deliveryId,
            error: String(storeError),
          }),
        );
      }
      throw new ApiError(503, "DELIVERY_NOT_QUEUED", "The delivery could not be queued; try again.", {
        deliveryId,
        ...details,
      });
    }
  }
  /** A replay is a new delivery of the same message (same webhook-id, so receivers can dedupe). */
  async function replay(
    original: Delivery,
    id: string = newDeliveryId(),
    details?: Record<string, unknown>,
  ): Promise<string | undefined> {
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

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/subscriptions",
      operationId: "createSubscription",
      summary: "Subscribe a webhook or an email address",
      description: `A webhook subscription is active at once and answers with its signing secret (shown only here). An email subscription starts pending_confirmation: its address gets a link (GET /email/confirm). A filter narrows the events beyond their type; it nests at most ${MAX_FILTER_DEPTH} levels (400 FILTER_TOO_DEEP) and is at most ${MAX_FILTER_BYTES} bytes of JSON (400 FILTER_TOO_LARGE).`,
      tags: ["Subscriptions"],
      security: keyScope("subscriptions:manage"),
      request: {
        body: {
          required: true,
          ...json(subscriptionBody, {
            examples: {
              webhook: {
                summary: "A webhook for invoices",
                value: {
                  kind: "webhook",
                  url: "https://example.com/hooks/quire",
                  events: ["job.completed"],
                  filter: { classification: ["invoice"] },
                },
              },
              email: {
                summary: "A digest per run",
                value: { kind: "email", address: "ops@example.com", mode: "digest" },
              },
            },
          }),
        },
      },
      responses: {
        201: {
          ...json(subscriptionCreatedSchema, { description: "Subscribed (Location)." }),
          headers: {
            location: {
              description: "The subscription.",
              schema: { type: "string", example: `/v1/subscriptions/${SUB_EXAMPLE}` },
            },
          },
        },
        ...errorResponses({
          400: {
            ...BAD_JSON_BODY,
            FILTER_TOO_DEEP: `filter.pattern: nests deeper than ${MAX_FILTER_DEPTH} levels`,
            FILTER_TOO_LARGE: `filter: is 20000 bytes of JSON; at most ${MAX_FILTER_BYTES}`,
            INVALID_FILTER: "filter.pattern: …",
          },
          401: UNAUTHORIZED,
          413: TOO_LARGE,
          415: NOT_JSON,
          422: {
            WEBHOOK_URL_NOT_ALLOWED: {
              message: "The webhook URL resolves to a private address (…)",
              details: { reason: "PRIVATE_ADDRESS" },
            },
          },
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const parsed = subscriptionBody.safeParse(await jsonBody(c));
      if (!parsed.success) {
        // A filter over the limits gets its own code (FILTER_TOO_DEEP, FILTER_TOO_LARGE), not VALIDATION_FAILED.
        const limit = parsed.error.issues.find(
          (issue): issue is z.core.$ZodIssueCustom => issue.code === "custom" && typeof issue.params?.code === "string",
        );
        if (limit) throw new ApiError(400, String(limit.params!.code), `${limit.path.join(".")}: ${limit.message}`);
        throw validationFailed(parsed.error);
      }
      const input = parsed.data;
      try {
        compileSubscriptionFilter(input.filter);
      } catch (error) {
        if (error instanceof InvalidEventPatternError)
          throw new ApiError(400, "INVALID_FILTER", `filter.pattern: ${error.message}`);
        throw error;
      }
      const at = new Date().toISOString();
      const base = {
        id: newSubscriptionId(),
        ...(input.filter ? { filter: input.filter } : {}),
        ...(input.description ? { description: input.description } : {}),
        createdAt: at,
        updatedAt: at,
      };
      if (input.kind === "webhook") {
        try {
          await deps.guard.vet(input.url);
        } catch (error) {
          if (error instanceof WebhookTargetRefused) {
            throw new ApiError(422, "WEBHOOK_URL_NOT_ALLOWED", `${error.message} (${deps.guard.describe()})`, {
              reason: error.code,
            });
          }
          throw error;
        }
        const secret = generateWebhookSecret();
        // The store seals the secret (KMS) before writing: this response is the only place it appears.
        const subscription = await store.createSubscription({
          ...base,
          kind: "webhook",
          url: input.url,
          events: input.events,
          status: "active",
          secrets: [{ secret }],
        });
        return c.json({ ...subscriptionView(subscription), secret }, 201, {
          location: `/v1/subscriptions/${subscription.id}`,
        });
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
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/subscriptions",
      operationId: "listSubscriptions",
      summary: "List subscriptions",
      description: "Every subscription, oldest first.",
      tags: ["Subscriptions"],
      security: keyScope("subscriptions:manage"),
      responses: {
        200: json(z.strictObject({ subscriptions: z.array(subscriptionViewSchema) }).meta({ id: "SubscriptionList" }), {
          description: "The subscriptions.",
        }),
        ...errorResponses({ 401: UNAUTHORIZED, 500: INTERNAL }),
      },
    },
    async (c) => {
      const subscriptions = await store.listSubscriptions();
      return c.json({
        subscriptions: subscriptions.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(subscriptionView),
      });
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/subscriptions/{id}",
      operationId: "getSubscription",
      summary: "Read a subscription",
      tags: ["Subscriptions"],
      security: keyScope("subscriptions:manage"),
      request: { params: subscriptionParam },
      responses: {
        200: json(subscriptionViewSchema, { description: "The subscription." }),
        ...errorResponses({ 401: UNAUTHORIZED, 404: SUBSCRIPTION_NOT_FOUND, 500: INTERNAL }),
      },
    },
    async (c) => c.json(subscriptionView(await subscriptionOr404(c))),
  );

  defineRoute(
    app,
    {
      method: "delete",
      path: "/v1/subscriptions/{id}",
      operationId: "deleteSubscription",
      summary: "Delete a subscription",
      description: "Nothing more is delivered to it; its deliveries stay readable until they expire.",
      tags: ["Subscriptions"],
      security: keyScope("subscriptions:manage"),
      request: { params: subscriptionParam },
      responses: {
        204: { description: "Deleted." },
        ...errorResponses({ 401: UNAUTHORIZED, 404: SUBSCRIPTION_NOT_FOUND, 413: TOO_LARGE, 500: INTERNAL }),
      },
    },
    async (c) => {
      const subscription = await subscriptionOr404(c);
      await store.deleteSubscription(subscription.id);
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/subscriptions/{id}/rotate-secret",
      operationId: "rotateSubscriptionSecret",
      summary: "Rotate a webhook's signing secret",
      description: `A new secret signs from now on; the previous one keeps signing beside it until previousSecretExpiresAt (overlapSeconds, at most ${MAX_OVERLAP_SECONDS}). Secrets are stored encrypted (KMS). Of two rotations at the same time exactly one succeeds; the other answers 409 SECRET_ROTATION_CONFLICT and changes nothing. The body is optional: without one (or without a content type) the defaults apply; a body sent as anything but application/json is 415.`,
      tags: ["Subscriptions"],
      security: keyScope("subscriptions:manage"),
      request: { params: subscriptionParam, body: { required: false, ...json(rotateInput) } },
      responses: {
        200: json(
          z
            .strictObject({ secret: signingSecret, previousSecretExpiresAt: isoTimestamp })
            .meta({ id: "RotatedSecret" }),
          { description: "The new secret, shown only this once." },
        ),
        ...errorResponses({
          400: {
            ...BAD_JSON_BODY,
            VALIDATION_FAILED: {
              message: "overlapSeconds: Too big: expected number to be <=604800",
              details: [{ path: "overlapSeconds", message: "Too big: expected number to be <=604800" }],
            },
          },
          401: UNAUTHORIZED,
          404: SUBSCRIPTION_NOT_FOUND,
          409: {
            NOT_A_WEBHOOK: "Only webhook subscriptions have signing secrets.",
            SECRET_ROTATION_CONFLICT: ROTATION_CONFLICT,
          },
          413: TOO_LARGE,
          415: NOT_JSON,
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const subscription = await subscriptionOr404(c);
      if (subscription.kind !== "webhook")
        throw new ApiError(409, "NOT_A_WEBHOOK", "Only webhook subscriptions have signing secrets.");
      // Like ingestion's key rotation: no body means the defaults, and a body is JSON exactly (a
      // body sent as text/html; x=application/json is 415, never read, and never silently ignored).
      const body = await parseOptionalJsonBody(c, rotateInput);
      const overlapMs = body.overlapSeconds !== undefined ? body.overlapSeconds * 1000 : settings.secretOverlapMs;
      const previousSecretExpiresAt = new Date(Date.now() + overlapMs);
      const secret = generateWebhookSecret();
      const rotated = await store.rotateSecret(subscription.id, secret, previousSecretExpiresAt);
      if (rotated.outcome === "not-found")
        throw new ApiError(404, "SUBSCRIPTION_NOT_FOUND", `No subscription ${subscription.id}.`);
      // Another rotation won the race; this secret was never stored, so it must not be handed out.
      if (rotated.outcome === "conflict") throw new ApiError(409, "SECRET_ROTATION_CONFLICT", ROTATION_CONFLICT);
      if (rotated.outcome === "not-a-webhook")
        throw new ApiError(409, "NOT_A_WEBHOOK", "Only webhook subscriptions have signing secrets.");
      return c.json({ secret, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() });
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/subscriptions/{id}/test",
      operationId: "testSubscription",
      summary: "Send a test notification",
      description: "Delivers a `ping` to the subscription, like any other message (signed, retried, logged).",
      tags: ["Subscriptions"],
      security: keyScope("subscriptions:manage"),
      request: { params: subscriptionParam },
      responses: {
        202: json(delivery202.meta({ id: "TestQueued" }), { description: "Queued: follow the delivery." }),
        ...errorResponses({
          401: UNAUTHORIZED,
          404: SUBSCRIPTION_NOT_FOUND,
          409: {
            SUBSCRIPTION_NOT_ACTIVE: "The subscription is pending_confirmation; only an active one can be tested.",
          },
          413: TOO_LARGE,
          500: INTERNAL,
          503: { DELIVERY_NOT_QUEUED: NOT_QUEUED },
        }),
      },
    },
    async (c) => {
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
        payload: {
          type: "ping",
          timestamp: at,
          data: { subscriptionId: subscription.id, message: "A test notification from Quire." },
        },
      });
      await enqueueFirstAttempt(id);
      return c.json({ deliveryId: id, links: { delivery: `/v1/deliveries/${id}` } }, 202);
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/subscriptions/{id}/enable",
      operationId: "enableSubscription",
      summary: "Enable a subscription again",
      description:
        "After it was disabled for failing: forgives past failures. An email subscription must be confirmed by its address instead.",
      tags: ["Subscriptions"],
      security: keyScope("subscriptions:manage"),
      request: { params: subscriptionParam },
      responses: {
        200: json(subscriptionViewSchema, { description: "The subscription, active." }),
        ...errorResponses({
          401: UNAUTHORIZED,
          404: SUBSCRIPTION_NOT_FOUND,
          409: { SUBSCRIPTION_NOT_CONFIRMED: "The address must confirm the subscription through the emailed link." },
          413: TOO_LARGE,
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const subscription = await subscriptionOr404(c);
      if (subscription.status === "pending_confirmation") {
        throw new ApiError(
          409,
          "SUBSCRIPTION_NOT_CONFIRMED",
          "The address must confirm the subscription through the emailed link.",
        );
      }
      const enabled = await store.enableSubscription(subscription.id);
      if (!enabled) throw new ApiError(404, "SUBSCRIPTION_NOT_FOUND", `No subscription ${subscription.id}.`);
      return c.json(subscriptionView(enabled));
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/subscriptions/{id}/deliveries",
      operationId: "listDeliveries",
      summary: "List a subscription's deliveries",
      description: "Newest first.",
      tags: ["Deliveries"],
      security: keyScope("subscriptions:manage"),
      request: { params: subscriptionParam, query: deliveryQuery },
      responses: {
        200: json(z.strictObject({ deliveries: z.array(deliveryViewSchema) }).meta({ id: "DeliveryList" }), {
          description: "The deliveries.",
        }),
        ...errorResponses({
          400: {
            VALIDATION_FAILED: {
              message: "limit: Too big: expected number to be <=1000",
              details: [{ path: "limit", message: "Too big: expected number to be <=1000" }],
            },
          },
          401: UNAUTHORIZED,
          404: SUBSCRIPTION_NOT_FOUND,
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const subscription = await subscriptionOr404(c);
      const query = deliveryQuery.safeParse(c.req.query());
      if (!query.success) throw validationFailed(query.error);
      const deliveries = await store.listDeliveries(subscription.id, {
        limit: query.data.limit,
        ...(query.data.status ? { status: query.data.status } : {}),
        ...(query.data.since ? { since: query.data.since } : {}),
      });
      return c.json({ deliveries: deliveries.map(deliveryView) });
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/subscriptions/{id}/replay",
      operationId: "replayFailedDeliveries",
      summary: "Replay every message that failed since a time",
      description: `Per message (webhook-id) whose every delivery failed, tried since \`since\`: one new delivery of its latest. Messages delivered or still being tried are left alone. Looks through the subscription's latest ${BULK_REPLAY_SCAN} deliveries.`,
      tags: ["Deliveries"],
      security: keyScope("subscriptions:manage"),
      request: { params: subscriptionParam, body: { required: true, ...json(replaySinceInput) } },
      responses: {
        202: json(
          z
            .strictObject({ replayed: z.int().nonnegative(), deliveryIds: z.array(deliveryIdSchema) })
            .meta({ id: "ReplayQueued" }),
          { description: "The new deliveries, queued." },
        ),
        ...errorResponses({
          400: {
            ...BAD_JSON_BODY,
            VALIDATION_FAILED: {
              message: "since: Invalid ISO datetime",
              details: [{ path: "since", message: "Invalid ISO datetime" }],
            },
          },
          401: UNAUTHORIZED,
          404: SUBSCRIPTION_NOT_FOUND,
          409: { SUBSCRIPTION_NOT_ACTIVE: NOT_ACTIVE },
          413: TOO_LARGE,
          415: NOT_JSON,
          500: INTERNAL,
          503: {
            DELIVERY_NOT_QUEUED: { message: NOT_QUEUED.message, details: { deliveryId: DLV_EXAMPLE, replayed: [] } },
          },
        }),
      },
    },
    async (c) => {
      const subscription = await subscriptionOr404(c);
      const { since } = await parseJsonBody(c, replaySinceInput);
      requireActive(subscription, "replayed");
      const deliveries = await store.listDeliveries(subscription.id, {
        since: new Date(since).toISOString(),
        limit: BULK_REPLAY_SCAN,
      });
      const deliveryIds: string[] = [];
      for (const latest of deliveriesToReplay(deliveries)) {
        const id = await replay(latest, replayIdFor(latest.id), { replayed: deliveryIds });
        if (id) deliveryIds.push(id);
      }
      return c.json({ replayed: deliveryIds.length, deliveryIds }, 202);
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/deliveries/{id}",
      operationId: "getDelivery",
      summary: "Read a delivery and its attempts",
      tags: ["Deliveries"],
      security: keyScope("subscriptions:manage"),
      request: { params: deliveryParam },
      responses: {
        200: json(deliveryDetailSchema, { description: "The delivery." }),
        ...errorResponses({
          401: UNAUTHORIZED,
          404: { DELIVERY_NOT_FOUND: `No delivery ${DLV_EXAMPLE}.` },
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const delivery = await deliveryOr404(c);
      const found = await store.getDeliveryLog(delivery.id);
      return c.json({ ...deliveryView(found?.delivery ?? delivery), payload: delivery.payload, log: found?.log ?? [] });
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/deliveries/{id}/replay",
      operationId: "replayDelivery",
      summary: "Replay a delivery",
      description:
        "A new delivery of the same message (same webhook-id, so receivers can deduplicate), whatever became of this one.",
      tags: ["Deliveries"],
      security: keyScope("subscriptions:manage"),
      request: { params: deliveryParam },
      responses: {
        202: json(delivery202.extend({ replayOf: deliveryIdSchema }).meta({ id: "ReplayOfDelivery" }), {
          description: "Queued: follow the new delivery.",
        }),
        ...errorResponses({
          401: UNAUTHORIZED,
          404: { DELIVERY_NOT_FOUND: `No delivery ${DLV_EXAMPLE}.` },
          409: {
            SUBSCRIPTION_DELETED: `The subscription ${SUB_EXAMPLE} was deleted; there is nothing to replay to.`,
            SUBSCRIPTION_NOT_ACTIVE: NOT_ACTIVE,
          },
          413: TOO_LARGE,
          500: INTERNAL,
          503: { DELIVERY_NOT_QUEUED: NOT_QUEUED },
        }),
      },
    },
    async (c) => {
      const delivery = await deliveryOr404(c);
      const subscription = await store.getSubscription(delivery.subscriptionId);
      if (!subscription)
        throw new ApiError(
          409,
          "SUBSCRIPTION_DELETED",
          `The subscription ${delivery.subscriptionId} was deleted; there is nothing to replay to.`,
        );
      requireActive(subscription, "replayed");
      const id = (await replay(delivery))!;
      return c.json({ deliveryId: id, replayOf: delivery.id, links: { delivery: `/v1/deliveries/${id}` } }, 202);
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/email/confirm",
      operationId: "confirmEmailSubscription",
      summary: "Confirm an email subscription",
      description:
        "The link a new email subscription's address receives; no key needed (the token is the proof). Answers an HTML page.",
      tags: ["Email"],
      security: [],
      request: {
        query: z.object({
          subscription: z.string().meta({ description: "The subscription's id.", example: SUB_EXAMPLE }),
          token: z.string().meta({ description: "The token from the email." }),
        }),
      },
      responses: {
        200: {
          description: "Confirmed: the subscription is active.",
          content: { "text/html": { schema: { type: "string" } } },
        },
        404: {
          description: "Not a valid link (already used, or the subscription was deleted).",
          content: { "text/html": { schema: { type: "string" } } },
        },
        ...errorResponses({ 500: INTERNAL }),
      },
    },
    async (c) => {
      const id = subscriptionIdSchema.safeParse(c.req.query("subscription"));
      const token = c.req.query("token");
      const confirmed = id.success && token ? await store.confirmEmail(id.data, token) : undefined;
      if (!confirmed) {
        return c.html(
          "<!doctype html><p>This confirmation link is not valid (already used, or the subscription was deleted).</p>",
          404,
        );
      }
      return c.html(
        `<!doctype html><p>Confirmed: ${confirmed.kind === "email" ? confirmed.address : ""} will receive Quire notifications.</p>`,
      );
    },
  );

  return app;
}
