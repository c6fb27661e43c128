import type { Devcloud } from "@quire/devcloud";
import { kmsSecretBox, type SecretBox } from "@quire/notifications";
import { createAwsClients } from "@quire/pipeline";
import type { DeliverySettings } from "../src/settings.ts";

/** Signing secrets sealed with devcloud's KMS, under the key it provisioned from the topology (as the service does). */
export const secretBox = (devcloud: Devcloud): SecretBox =>
  kmsSecretBox({ kms: createAwsClients(devcloud.env).kms, keyId: devcloud.env.QUIRE_KEY_SECRETS_ID! });

/**
 * Delivery settings for specs: a 1 s attempt timeout, the given retry schedule, the defaults' disable and overlap
 * windows.
 */
export const deliverySettings = (retryDelaysMs: number[]): DeliverySettings => ({
  retryDelaysMs,
  timeoutMs: 1000,
  maxRedirects: 0,
  disableAfterMs: 5 * 86400_000,
  secretOverlapMs: 86400_000,
  emailFrom: "quire@example.com",
  apiPublicUrl: "http://api",
  notifierPublicUrl: "http://notifier",
});
