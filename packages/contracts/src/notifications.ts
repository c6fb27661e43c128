import { z } from "zod";
import type { DetailType } from "./events.ts";

/**
 * What subscribers receive. Webhook bodies are `{ type, timestamp, data }` (Standard Webhooks),
 * `data` being the EventBridge detail as the catalogue defines it; emails render the same data.
 */
export const NOTIFICATION_EVENT_TYPES = ["job.completed", "job.failed", "run.completed"] as const;
export const notificationEventType = z.enum(NOTIFICATION_EVENT_TYPES);
export type NotificationEventType = z.infer<typeof notificationEventType>;

/** `ping` is what `POST /v1/subscriptions/{id}/test` sends; nobody subscribes to it. */
export type DeliveredEventType = NotificationEventType | "ping";

export const notificationTypeOf = {
  "Job Completed": "job.completed",
  "Job Failed": "job.failed",
  "Run Completed": "run.completed",
} as const satisfies Partial<Record<DetailType, NotificationEventType>>;
export type NotifiedDetailType = keyof typeof notificationTypeOf;
export const NOTIFIED_DETAIL_TYPES = Object.keys(notificationTypeOf) as NotifiedDetailType[];

export const webhookPayload = z.object({
  type: z.string(),
  timestamp: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
});
export type WebhookPayload = z.infer<typeof webhookPayload>;

const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
export const subscriptionId = z.string().regex(new RegExp(`^sub_${ULID}$`), "not a subscription id (sub_…)");
export const deliveryId = z.string().regex(/^dlv_[0-9A-Za-z]{26}$/, "not a delivery id (dlv_…)");
