import type { DeliveredEventType, WebhookPayload } from "@quire/contracts";

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
