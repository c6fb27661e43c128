import { NOTIFICATION_EVENT_TYPES, notificationEventType, type NotificationEventType, type WebhookPayload } from "@quire/contracts";
import { compileEventPattern, InvalidEventPatternError, type CompiledEventPattern } from "@quire/event-patterns";
import { z } from "zod";

/**
 * Which events reach a subscription beyond their type. `classification` and `metadata` narrow job
 * events (a run has neither); `pattern` is an EventBridge event pattern over the whole payload
 * `{ type, timestamp, data }` for anything else, checked with the same matcher devcloud's
 * EventBridge uses.
 */
export const subscriptionFilter = z.strictObject({
  classification: z.array(z.string().min(1)).min(1).optional(),
  metadata: z.record(z.string(), z.array(z.string()).min(1)).optional(),
  pattern: z.record(z.string(), z.unknown()).optional(),
});
export type SubscriptionFilter = z.infer<typeof subscriptionFilter>;

const description = z.string().max(500).optional();
const events = z.array(notificationEventType).min(1).transform((list) => [...new Set(list)]);

export const webhookSubscriptionInput = z.strictObject({
  kind: z.literal("webhook"),
  url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }),
  events: events.default([...NOTIFICATION_EVENT_TYPES]),
  filter: subscriptionFilter.optional(),
  description,
});

/**
 * `per-job` mails every job outcome; `digest` mails one summary per run (`run.completed`), so a
 * run of 10,000 documents is one email, not 10,000.
 */
export const emailSubscriptionInput = z.strictObject({
  kind: z.literal("email"),
  address: z.email(),
  mode: z.enum(["per-job", "digest"]).default("per-job"),
  events: events.optional(),
  filter: subscriptionFilter.optional(),
  description,
});

export const subscriptionInput = z.discriminatedUnion("kind", [webhookSubscriptionInput, emailSubscriptionInput]);
export type SubscriptionInput = z.input<typeof subscriptionInput>;

export type SubscriptionStatus = "active" | "pending_confirmation" | "disabled";

export interface SigningSecret {
  secret: string;
  /** Set on a rotated-out secret: it keeps signing until then, alongside the new one. */
  expiresAt?: string;
}

interface SubscriptionBase {
  id: string;
  events: NotificationEventType[];
  filter?: SubscriptionFilter;
  description?: string;
  status: SubscriptionStatus;
  disabledReason?: { code: string; message: string; at: string };
  /** When the current run of failed attempts began; cleared by any success. */
  failingSince?: string;
  createdAt: string;
  updatedAt: string;
}
export interface WebhookSubscription extends SubscriptionBase {
  kind: "webhook";
  url: string;
  secrets: SigningSecret[];
}
export interface EmailSubscription extends SubscriptionBase {
  kind: "email";
  address: string;
  mode: "per-job" | "digest";
  confirmationToken?: string;
}
export type Subscription = WebhookSubscription | EmailSubscription;

/** The events an email subscription gets when it does not list them: its mode decides. */
export function defaultEmailEvents(mode: "per-job" | "digest"): NotificationEventType[] {
  return mode === "digest" ? ["run.completed"] : ["job.completed", "job.failed"];
}

/** Throws InvalidEventPatternError (naming the field) when the filter cannot be compiled. */
export function compileSubscriptionFilter(filter: SubscriptionFilter | undefined): (payload: WebhookPayload) => boolean {
  if (!filter) return () => true;
  const jobPattern: Record<string, unknown> = {};
  if (filter.classification) jobPattern.classification = { label: filter.classification };
  if (filter.metadata) jobPattern.metadata = filter.metadata;
  const jobFilter: CompiledEventPattern | undefined = Object.keys(jobPattern).length ? compileEventPattern({ data: jobPattern }) : undefined;
  const custom = filter.pattern ? compileEventPattern(filter.pattern) : undefined;
  return (payload) => {
    if (jobFilter && payload.type.startsWith("job.") && !jobFilter.matches(payload)) return false;
    return custom ? custom.matches(payload) : true;
  };
}

export { InvalidEventPatternError };

/** Whether an event goes to a subscription: active, subscribed to the type, and through its filter. */
export function subscriptionWants(subscription: Subscription, payload: WebhookPayload): boolean {
  if (subscription.status !== "active") return false;
  if (!(subscription.events as string[]).includes(payload.type)) return false;
  return compileSubscriptionFilter(subscription.filter)(payload);
}

/** What the API shows: never the secrets (they are shown once, at creation and rotation). */
export function subscriptionView(subscription: Subscription) {
  const { secrets: _secrets, confirmationToken: _token, failingSince, ...rest } = subscription as Subscription & {
    secrets?: unknown;
    confirmationToken?: unknown;
  };
  return {
    ...rest,
    ...(failingSince ? { failingSince } : {}),
    links: { self: `/v1/subscriptions/${subscription.id}`, deliveries: `/v1/subscriptions/${subscription.id}/deliveries` },
  };
}
