export type WebhookConfigErrorCode = "ALLOWLIST_INVALID" | "RETRY_SCHEDULE_INVALID" | "SECRET_INVALID";

/**
 * Configuration this package cannot work with (an allowlist, a retry schedule, a secret); fails at startup, not mid-
 * delivery.
 */
export class WebhookConfigError extends Error {
  override readonly name = "WebhookConfigError";
  readonly code: WebhookConfigErrorCode;
  constructor(code: WebhookConfigErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
