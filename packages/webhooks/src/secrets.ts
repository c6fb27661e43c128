import { randomBytes } from "node:crypto";
import { WebhookConfigError } from "./errors.ts";

const PREFIX = "whsec_";

/** "whsec_" + base64 of 24 random bytes: the format Standard Webhooks verifiers accept. */
export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(24).toString("base64")}`;
}

/**
 * The HMAC key inside a `whsec_` secret. Strict about the base64 because Buffer.from is not: it
 * would quietly sign with a different key than the receiver's verifier decodes, and every
 * delivery would fail verification with nothing pointing at the secret.
 */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new WebhookConfigError("SECRET_INVALID", "a webhook secret starts with whsec_");
  const encoded = secret.slice(PREFIX.length);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(encoded) || encoded.length === 0) {
    throw new WebhookConfigError("SECRET_INVALID", "a webhook secret is whsec_ followed by padded base64");
  }
  return Buffer.from(encoded, "base64");
}
