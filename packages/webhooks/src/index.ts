export {
  createAddressGuard,
  WebhookTargetRefused,
  type AddressGuard,
  type LookupAll,
  type RefusalCode,
  type ResolvedAddress,
} from "./address-guard.ts";
export { WebhookConfigError, type WebhookConfigErrorCode } from "./errors.ts";
export { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule, retryDelayMs } from "./retry-schedule.ts";
export { generateWebhookSecret } from "./secrets.ts";
export { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, sendWebhook, type WebhookAttempt } from "./send.ts";
export { signWebhook, type SignedWebhook } from "./signing.ts";
