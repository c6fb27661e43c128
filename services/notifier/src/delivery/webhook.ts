import type { AttemptRecord, Delivery, WebhookSubscription } from "@quire/notifications";
import { sendWebhook, signWebhook, type AddressGuard } from "@quire/webhooks";
import type { DeliverySettings } from "../settings.ts";

/** Secrets that sign now: the current one and any rotated-out one still inside its overlap. */
export function signingSecrets(subscription: WebhookSubscription, now = new Date()): string[] {
  return subscription.secrets
    .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now.getTime())
    .map((s) => s.secret);
}

/** One Standard Webhooks attempt: signed afresh (new timestamp), same webhook-id every time. */
export async function attemptWebhook(
  deps: { guard: AddressGuard; settings: DeliverySettings },
  subscription: WebhookSubscription,
  delivery: Delivery,
  attempt: number,
): Promise<AttemptRecord & { requested: string[] }> {
  const now = new Date();
  const signed = signWebhook({
    messageId: delivery.messageId,
    type: delivery.payload.type,
    data: delivery.payload.data,
    timestamp: now,
    occurredAt: delivery.payload.timestamp,
    secrets: signingSecrets(subscription, now),
  });
  const result = await sendWebhook({
    url: subscription.url,
    signed,
    guard: deps.guard,
    timeoutMs: deps.settings.timeoutMs,
    maxRedirects: deps.settings.maxRedirects,
  });
  return {
    attempt,
    at: now.toISOString(),
    outcome: result.outcome,
    latencyMs: Math.round(result.latencyMs),
    ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
    ...(result.error ? { error: result.error } : {}),
    ...(result.response ? { response: result.response } : {}),
    requested: result.requested,
  };
}
