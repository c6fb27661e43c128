import type { DeliverySettings } from "../src/settings.ts";

/** Delivery settings for specs: a 1 s attempt timeout, the given retry schedule, the defaults' disable and overlap windows. */
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
