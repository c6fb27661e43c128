import type { AttemptRecord, Delivery, WebhookSubscription } from "@quire/notifications";
import { sendWebhook, signWebhook, type AddressGuard } from "@quire/webhooks";
import type { DeliverySettings } from "../settings.ts";

/**
 * One Standard Webhooks attempt: signed afresh (new timestamp), same webhook-id every time.
 * `secrets` are the subscription's signing secrets in plain text (the store's signingSecrets:
 * the current one and any rotated-out one still inside its overlap); they go into the signature
 * and nowhere else: not into the attempt record, not into a log line.
 */
export async function attemptWebhook(
  deps: { guard: AddressGuard; settings: DeliverySettings },
  subscription: WebhookSubscription,
  secrets: string[],
  delivery: Delivery,
  attempt: number,
  now = new Date(),
): Promise<AttemptRecord & { requested: string[] }> {
  const signed = signWebhook({
    messageId: delivery.messageId,
    type: delivery.payload.type,
    data: delivery.payload.data,
    timestamp: now,
    occurredAt: delivery.payload.timestamp,
    secrets,
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
