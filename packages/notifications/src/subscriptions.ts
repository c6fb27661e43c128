import {
  NOTIFICATION_EVENT_TYPES,
  notificationEventType,
  storableNumber,
  type NotificationEventType,
  type WebhookPayload,
} from "@quire/contracts";
import { compileEventPattern, InvalidEventPatternError, type CompiledEventPattern } from "@quire/event-patterns";
import { z } from "zod";
import type { PlaintextSecret, SealedSecret } from "./secrets.ts";

/**
 * How deep a filter may nest (objects and arrays both count, the pattern itself is level 1).
 * DynamoDB refuses an item nested more than 32 levels, and the stored subscription puts the
 * pattern 2 levels down (item → filter → pattern); past a few thousand levels the marshaller
 * overflows its stack before DynamoDB can even refuse. The payload a pattern matches is
 * `{ type, timestamp, data: { classification: { label } } }` — 4 levels — and a matcher or `$or`
 * adds 2 each, so 10 is room for any pattern that can match anything, and far from both limits.
 */
export const MAX_FILTER_DEPTH = 10;
/**
 * A filter is read with every subscription at every event's fan-out, so it stays small: 16 KiB
 * of JSON holds hundreds of labels or metadata values, and a subscription stays far below
 * DynamoDB's 400 KB item.
 */
export const MAX_FILTER_BYTES = 16 * 1024;

/** Whether `value` nests deeper than `max` levels; stops descending there, so any depth is safe to check. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (max === 0) return true;
  return Object.values(value).some((child) => nestsDeeperThan(child, max - 1));
}

function numbersIn(value: unknown): number[] {
  if (typeof value === "number") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(numbersIn);
}

/**
 * Which events reach a subscription beyond their type. `classification` narrows `job.completed`
 * (the only event with one) and `metadata` both job events (a run has neither); `pattern` is an
 * EventBridge event pattern over the whole payload `{ type, timestamp, data }` for anything
 * else, checked with the same matcher devcloud's EventBridge uses. Too deep or too large a
 * filter is refused with `params.code` FILTER_TOO_DEEP / FILTER_TOO_LARGE, for the API to answer.
 */
export const subscriptionFilter = z
  .strictObject({
    classification: z.array(z.string().min(1)).min(1).optional(),
    metadata: z.record(z.string(), z.array(z.string()).min(1)).optional(),
    pattern: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((filter, ctx) => {
    // Depth first: it bounds the recursion of the size check's JSON.stringify too.
    if (nestsDeeperThan(filter.pattern, MAX_FILTER_DEPTH)) {
      ctx.addIssue({
        code: "custom",
        path: ["pattern"],
        message: `nests deeper than ${MAX_FILTER_DEPTH} levels`,
        params: { code: "FILTER_TOO_DEEP" },
      });
      return;
    }
    // Stored as given: a number DynamoDB cannot hold (1e300, 5e-324) would fail the write.
    const unstorable = numbersIn(filter.pattern).find((n) => !storableNumber.safeParse(n).success);
    if (unstorable !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["pattern"],
        message: `${unstorable} is not a number a subscription can hold (within ±2^53, and 0 or at least 1e-130 in magnitude)`,
        params: { code: "INVALID_FILTER" },
      });
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(filter));
    if (bytes > MAX_FILTER_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `is ${bytes} bytes of JSON; at most ${MAX_FILTER_BYTES}`,
        params: { code: "FILTER_TOO_LARGE" },
      });
    }
  });
export type SubscriptionFilter = z.infer<typeof subscriptionFilter>;

const description = z.string().max(500).optional();
const events = z
  .array(notificationEventType)
  .min(1)
  .transform((list) => [...new Set(list)]);

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

/**
 * A webhook signing secret as stored: sealed, i.e. KMS ciphertext bound to its subscription
 * (see secrets.ts). Plain text only in records written before secrets were encrypted at rest:
 * those are read as they are and sealed at the subscription's next rotation, or all at once by
 * the store's encryptPlaintextSecrets.
 */
export type SigningSecret = (SealedSecret | PlaintextSecret) & {
  /** Set on a rotated-out secret: it keeps signing until then, alongside the new one. */
  expiresAt?: string;
};
/** A secret as the API makes it, in plain text, for the store to seal before it writes anything. */
export type NewSigningSecret = PlaintextSecret & { expiresAt?: string };

export const isSealed = (secret: SigningSecret): secret is SealedSecret & { expiresAt?: string } =>
  "ciphertext" in secret;

interface SubscriptionBase {
  id: string;
  events: NotificationEventType[];
  filter?: SubscriptionFilter;
  description?: string;
  status: SubscriptionStatus;
  disabledReason?: { code: string; message: string; at: string };
  /** When the current run of failed attempts began; cleared by any success (see recordEndpointFailure). */
  failingSince?: string;
  /** The latest failed attempt of the current streak: a streak with a long gap in it starts again. */
  lastFailureAt?: string;
  createdAt: string;
  updatedAt: string;
}
export interface WebhookSubscription extends SubscriptionBase {
  kind: "webhook";
  url: string;
  /** The current secret first, then rotated-out ones still inside their overlap. */
  secrets: SigningSecret[];
  /**
   * Counts the secret's versions: every rotation is a write conditional on the version it read,
   * so of two concurrent rotations one wins and the other learns it lost. Absent on records from
   * before secrets were encrypted.
   */
  secretVersion?: number;
}
/** A webhook subscription as created: its secret in plain text, which the store seals. */
export type NewWebhookSubscription = Omit<WebhookSubscription, "secrets" | "secretVersion"> & {
  secrets: NewSigningSecret[];
};
export interface EmailSubscription extends SubscriptionBase {
  kind: "email";
  address: string;
  mode: "per-job" | "digest";
  confirmationToken?: string;
}
export type Subscription = WebhookSubscription | EmailSubscription;
export type NewSubscription = NewWebhookSubscription | EmailSubscription;

/** The events an email subscription gets when it does not list them: its mode decides. */
export function defaultEmailEvents(mode: "per-job" | "digest"): NotificationEventType[] {
  return mode === "digest" ? ["run.completed"] : ["job.completed", "job.failed"];
}

/** Throws InvalidEventPatternError (naming the field) when the filter cannot be compiled. */
export function compileSubscriptionFilter(
  filter: SubscriptionFilter | undefined,
): (payload: WebhookPayload) => boolean {
  if (!filter) return () => true;
  // Only a completed job has a classification: requiring one of a failed job would hide every
  // failure from `--events job.completed,job.failed --classification invoice`.
  const classification: CompiledEventPattern | undefined = filter.classification
    ? compileEventPattern({ data: { classification: { label: filter.classification } } })
    : undefined;
  const metadata: CompiledEventPattern | undefined = filter.metadata
    ? compileEventPattern({ data: { metadata: filter.metadata } })
    : undefined;
  const custom = filter.pattern ? compileEventPattern(filter.pattern) : undefined;
  return (payload) => {
    if (classification && payload.type === "job.completed" && !classification.matches(payload)) return false;
    if (metadata && payload.type.startsWith("job.") && !metadata.matches(payload)) return false;
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
  const {
    secrets: _secrets,
    secretVersion: _version,
    confirmationToken: _token,
    failingSince,
    ...rest
  } = subscription as Subscription & {
    secrets?: unknown;
    secretVersion?: unknown;
    confirmationToken?: unknown;
  };
  return {
    ...rest,
    ...(failingSince ? { failingSince } : {}),
    links: {
      self: `/v1/subscriptions/${subscription.id}`,
      deliveries: `/v1/subscriptions/${subscription.id}/deliveries`,
    },
  };
}
