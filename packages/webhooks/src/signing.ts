import { createHmac } from "node:crypto";
import { secretKey } from "./secrets.ts";

export interface SignedWebhook {
  headers: Record<"webhook-id" | "webhook-timestamp" | "webhook-signature" | "content-type" | "user-agent", string>;
  body: string;
}

/**
 * A Standard Webhooks message. The body is `{ type, timestamp, data }`; `timestamp` in the body is
 * when the event happened (`occurredAt`, default: the attempt), `webhook-timestamp` is this
 * attempt's, so receivers can reject replays of old attempts. Signed with node:crypto on purpose:
 * the specs verify with the independent `standardwebhooks` package. One `v1,` signature per
 * secret, so during a rotation a receiver holding either the old or the new secret verifies.
 */
export function signWebhook(input: {
  messageId: string;
  type: string;
  data: unknown;
  timestamp: Date;
  occurredAt?: string;
  secrets: readonly string[];
}): SignedWebhook {
  if (input.secrets.length === 0) throw new TypeError("signWebhook needs at least one secret");
  const body = JSON.stringify({
    type: input.type,
    timestamp: input.occurredAt ?? input.timestamp.toISOString(),
    data: input.data,
  });
  const seconds = String(Math.floor(input.timestamp.getTime() / 1000));
  const signed = `${input.messageId}.${seconds}.${body}`;
  const signatures = input.secrets.map(
    (secret) => `v1,${createHmac("sha256", secretKey(secret)).update(signed).digest("base64")}`,
  );
  return {
    headers: {
      "webhook-id": input.messageId,
      "webhook-timestamp": seconds,
      "webhook-signature": signatures.join(" "),
      "content-type": "application/json",
      "user-agent": "Quire-Webhooks/1.0",
    },
    body,
  };
}
