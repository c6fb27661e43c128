import type { QuireConfig } from "@quire/config";
import { parseRetrySchedule } from "@quire/webhooks";

/** The notifier's delivery policy, from config, with every delay already time-scaled. */
export interface DeliverySettings {
  /** Delay before attempt n+1 after n failed attempts (index n-1); exhausted → failed for good. */
  retryDelaysMs: number[];
  timeoutMs: number;
  maxRedirects: number;
  /** A subscription failing for this long without one success is disabled. */
  disableAfterMs: number;
  /** How long a rotated-out secret keeps signing. */
  secretOverlapMs: number;
  emailFrom: string;
  apiPublicUrl: string;
  notifierPublicUrl: string;
}

const single = (name: string, text: string) => {
  const [value, ...rest] = parseRetrySchedule(text);
  if (value === undefined || rest.length) throw new Error(`${name} must be one duration like 5d or 24h, got "${text}"`);
  return value;
};

export function deliverySettings(config: QuireConfig): DeliverySettings {
  const scale = config.QUIRE_NOTIFIER_TIME_SCALE;
  return {
    retryDelaysMs: parseRetrySchedule(config.QUIRE_WEBHOOK_RETRY_SCHEDULE).map((ms) => ms * scale),
    timeoutMs: config.QUIRE_WEBHOOK_TIMEOUT_MS,
    maxRedirects: config.QUIRE_WEBHOOK_MAX_REDIRECTS,
    disableAfterMs: single("QUIRE_WEBHOOK_DISABLE_AFTER", config.QUIRE_WEBHOOK_DISABLE_AFTER) * scale,
    secretOverlapMs: single("QUIRE_WEBHOOK_SECRET_OVERLAP", config.QUIRE_WEBHOOK_SECRET_OVERLAP) * scale,
    emailFrom: config.QUIRE_EMAIL_FROM,
    apiPublicUrl: config.QUIRE_API_PUBLIC_URL.replace(/\/$/, ""),
    notifierPublicUrl: config.QUIRE_NOTIFIER_PUBLIC_URL.replace(/\/$/, ""),
  };
}
