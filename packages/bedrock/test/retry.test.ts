/** Unit tests of the retry building blocks: backoff with full jitter, error classification, sleep. */
import { describe, expect, it } from "vitest";
import {
  AbortError,
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableBedrockError,
  ModelOutputError,
  ModelUnavailableError,
  BedrockRequestError,
  resolveRetryPolicy,
  sleep,
  withRetries,
} from "../src/index.ts";
import { mulberry32 } from "@quire/devcloud";

describe("backoffDelay (full jitter)", () => {
  it("stays within [0, min(maxDelayMs, baseDelayMs × 2^(retry−1))) and uses the whole range", () => {
    const policy = { baseDelayMs: 200, maxDelayMs: 20_000 };
    const random = mulberry32(42);
    for (let retry = 1; retry <= 12; retry++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
      const samples = Array.from({ length: 2_000 }, () => backoffDelay(retry, policy, random));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...samples)).toBeLessThan(ceiling);
      // Full jitter: the draws spread over the interval rather than clustering at the cap.
      expect(Math.min(...samples)).toBeLessThan(ceiling * 0.05);
      expect(Math.max(...samples)).toBeGreaterThan(ceiling * 0.95);
    }
    expect(backoffDelay(1, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(400);
    // An injected random() of exactly 1 is clamped to the cap, never beyond; huge retry counts stay capped.
    expect(backoffDelay(4, policy, () => 1)).toBe(1_600);
    expect(backoffDelay(2_000, policy, () => 1)).toBe(20_000);
  });

  it("validates the policy and fills defaults", () => {
    expect(resolveRetryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
    expect(resolveRetryPolicy({ maxAttempts: 2, baseDelayMs: undefined }).maxAttempts).toBe(2);
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => resolveRetryPolicy({ timeoutMs: 0 })).toThrow(RangeError);
  });
});

describe("isRetryableBedrockError", () => {
  const sdkError = (name: string, httpStatusCode?: number) =>
    Object.assign(new Error("x"), {
      name,
      $fault: "server",
      $metadata: httpStatusCode === undefined ? {} : { httpStatusCode },
    });

  it("retries capacity, timeout, model and network failures; not request errors or our permanent errors", () => {
    for (const name of [
      "ThrottlingException",
      "ServiceUnavailableException",
      "ModelTimeoutException",
      "InternalServerException",
      "ModelNotReadyException",
      "ModelErrorException",
    ]) {
      expect(isRetryableBedrockError(sdkError(name)), name).toBe(true);
    }
    for (const name of ["ValidationException", "AccessDeniedException", "ResourceNotFoundException"]) {
      expect(isRetryableBedrockError(sdkError(name, 400)), name).toBe(false);
    }
    expect(isRetryableBedrockError(sdkError("SomeUnmodelledError", 502))).toBe(true);
    expect(isRetryableBedrockError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(true);
    expect(isRetryableBedrockError(Object.assign(new Error("stream"), { code: "ERR_HTTP2_STREAM_ERROR" }))).toBe(true);
    expect(isRetryableBedrockError(new ModelUnavailableError("m", undefined, 6))).toBe(true);
    expect(isRetryableBedrockError(new ModelOutputError("schema-violation", "m"))).toBe(false);
    expect(isRetryableBedrockError(new BedrockRequestError("m", undefined))).toBe(false);
    expect(isRetryableBedrockError(new AbortError())).toBe(false);
    expect(isRetryableBedrockError(new TypeError("bug"))).toBe(false);
  });
});

describe("sleep", () => {
  it("rejects with AbortError as soon as the signal fires", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const pending = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(), 10);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe("withRetries under a governor", () => {
  it("retries a throttled attempt after a short jitter instead of an exponential backoff: the governor paces", async () => {
    const throttle = () =>
      Object.assign(new Error("Too many requests"), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 429 },
      });
    const run = async (paced: boolean) => {
      const delays: number[] = [];
      let calls = 0;
      await withRetries(
        async () => {
          if (++calls < 5) throw throttle();
          return { usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } };
        },
        {
          policy: DEFAULT_RETRY_POLICY,
          sleep: async () => {},
          random: () => 0.999,
          throttlesPacedByGovernor: paced,
          onAttempt: (e) => e.delayMs !== undefined && delays.push(e.delayMs),
        },
      );
      return delays;
    };
    expect(await run(false)).toEqual([199, 399, 799, 1598]);
    expect(await run(true)).toEqual([199, 199, 199, 199]);
  });
});
