import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule, retryDelayMs, WebhookConfigError } from "../src/index.ts";

describe("retry schedules", () => {
  it("the default is Standard Webhooks' usual 5s, 5m, 30m, 2h, 5h, 10h, 10h", () => {
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
  });

  it("reads ms, s, m, h and d, with decimals and spaces", () => {
    expect(parseRetrySchedule("250ms, 1.5s,2m,1h,1d")).toEqual([250, 1500, 120_000, 3_600_000, 86_400_000]);
  });

  it("refuses an entry it cannot read, naming it", () => {
    expect(() => parseRetrySchedule("5s,soon,1h")).toThrow('"soon"');
    expect(() => parseRetrySchedule("5s,-1m")).toThrow('"-1m"');
    expect(() => parseRetrySchedule("5")).toThrow('"5"');
  });

  it("refuses an empty entry, saying which", () => {
    expect(() => parseRetrySchedule("5s,,1h")).toThrow("entry 2 is empty");
  });

  it("refuses a schedule with no delays", () => {
    expect(() => parseRetrySchedule(" , ")).toThrow("at least one delay");
  });

  it("fails with the stable code RETRY_SCHEDULE_INVALID", () => {
    expect(() => parseRetrySchedule("soon")).toThrow(WebhookConfigError);
    expect(() => parseRetrySchedule("soon")).toThrow(expect.objectContaining({ code: "RETRY_SCHEDULE_INVALID" }));
  });

  it("after the first failed attempt waits the first delay", () => {
    expect(retryDelayMs(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE), 1)).toBe(5_000);
  });

  it("after n failed attempts waits the n-th delay", () => {
    expect(retryDelayMs(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE), 7)).toBe(36_000_000);
  });

  it("is exhausted (undefined) once every delay has been used", () => {
    expect(retryDelayMs(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE), 8)).toBeUndefined();
  });

  it("scales delays by timeScale", () => {
    expect(retryDelayMs(parseRetrySchedule("5s,5m"), 2, 0.001)).toBe(300);
  });

  it("refuses to count attempts from anything but 1", () => {
    expect(() => retryDelayMs([5_000], 0)).toThrow(RangeError);
  });
});
