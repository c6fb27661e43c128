import { WebhookConfigError } from "./errors.ts";

/** Standard Webhooks' usual schedule (Svix's): a quick first retry, then backing off to 10 hours. */
export const DEFAULT_RETRY_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "5s,5m,30m,2h" → milliseconds. Units ms|s|m|h|d; throws RETRY_SCHEDULE_INVALID naming the entry it cannot read. */
export function parseRetrySchedule(text: string): number[] {
  const entries = text.split(",").map((entry) => entry.trim());
  if (entries.every((entry) => entry === ""))
    throw new WebhookConfigError("RETRY_SCHEDULE_INVALID", "a retry schedule needs at least one delay, like 5s,5m,30m");
  return entries.map((entry, index) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(entry);
    if (!match) {
      const what = entry === "" ? `entry ${index + 1} is empty` : `entry "${entry}" is not a duration`;
      throw new WebhookConfigError(
        "RETRY_SCHEDULE_INVALID",
        `retry schedule ${what}; expected e.g. 500ms, 5s, 5m, 2h or 1d, comma-separated`,
      );
    }
    return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
  });
}

/**
 * The delay before the next attempt once `attemptsMade` attempts failed (after the first failure,
 * schedule[0]); undefined when the schedule is exhausted. `timeScale` shrinks hours to seconds.
 */
export function retryDelayMs(schedule: readonly number[], attemptsMade: number, timeScale = 1): number | undefined {
  // 0 would otherwise read as "exhausted" and silently give up on a delivery that never failed.
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1)
    throw new RangeError(`attemptsMade counts failed attempts from 1, got ${attemptsMade}`);
  const delay = schedule[attemptsMade - 1];
  return delay === undefined ? undefined : Math.round(delay * timeScale);
}
