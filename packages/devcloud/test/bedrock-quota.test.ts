/** Per-model RPM/TPM quotas: ThrottlingException as the SDK sees it, SDK retries, token reservation. */
import { ConverseCommand, type ConverseCommandInput } from "@aws-sdk/client-bedrock-runtime";
import { afterEach, describe, expect, test } from "vitest";
import { createBedrockBackend, type BedrockBackend } from "../src/bedrock/index.ts";
import { SlidingWindowQuota } from "../src/bedrock/quota.ts";
import { HAIKU, rejection, serve, type Harness } from "./bedrock-helpers.ts";

const NO_LATENCY = { distribution: "fixed", meanMs: 0, jitterMs: 0, perOutputTokenMs: 0, minMs: 0 } as const;
const request = (maxTokens = 50): ConverseCommandInput => ({
  modelId: HAIKU,
  messages: [{ role: "user", content: [{ text: "The parties signed the agreement. It takes effect today." }] }],
  inferenceConfig: { maxTokens },
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(backend: BedrockBackend): Promise<Harness> {
  harness = await serve(backend);
  return harness;
}

describe("sliding-window quota (fake clock)", () => {
  test("admits N requests per window and reopens exactly when the oldest expires", () => {
    let now = 0;
    const quota = new SlidingWindowQuota(600, () => now);
    const limits = { requestsPerMinute: 2, tokensPerMinute: null };
    expect(quota.tryAdmit(limits, 1).admitted).toBe(true);
    now = 100;
    expect(quota.tryAdmit(limits, 1).admitted).toBe(true);
    now = 200;
    const refused = quota.tryAdmit(limits, 1);
    expect(refused).toMatchObject({ admitted: false, limit: "requests", retryAfterMs: 400 });
    now = 600;
    expect(quota.tryAdmit(limits, 1).admitted).toBe(true);
  });

  test("reserves tokens at admission and releases the unused part on settle", () => {
    const quota = new SlidingWindowQuota(60_000, () => 0);
    const limits = { requestsPerMinute: null, tokensPerMinute: 1000 };
    const first = quota.tryAdmit(limits, 600);
    expect(quota.tryAdmit(limits, 600)).toMatchObject({ admitted: false, limit: "tokens", neverFits: false });
    if (!first.admitted) throw new Error("first request should be admitted");
    first.admission.settle(100);
    expect(quota.usage().tokens).toBe(100);
    expect(quota.tryAdmit(limits, 600).admitted).toBe(true);
  });
});

describe("through the SDK", () => {
  test("throttling under a configured RPM is a 429 ThrottlingException", async () => {
    const backend = createBedrockBackend({
      timeScale: 1,
      models: { [HAIKU]: { latency: NO_LATENCY, quota: { requestsPerMinute: 2 } } },
    });
    const client = (await start(backend)).client({ maxAttempts: 1 });
    await client.send(new ConverseCommand(request()));
    await client.send(new ConverseCommand(request()));
    const error = await rejection(client.send(new ConverseCommand(request())));
    expect(error.name).toBe("ThrottlingException");
    expect(error.message).toBe("Too many requests, please wait before trying again.");
    expect(error.$fault).toBe("client");
    expect(error.$metadata).toMatchObject({ httpStatusCode: 429, attempts: 1 });
    expect(backend.stats()[HAIKU]).toMatchObject({ calls: 3, succeeded: 2, throttles: 1, throttledByRequests: 1 });
  });

  test("the SDK's own retries succeed once the scaled window has passed", async () => {
    // 1 request per "minute" that lasts 60 ms: the SDK's throttling backoff (up to ~1 s) outlasts it.
    const backend = createBedrockBackend({
      timeScale: 0.001,
      models: { [HAIKU]: { latency: NO_LATENCY, quota: { requestsPerMinute: 1 } } },
    });
    const client = (await start(backend)).client({ maxAttempts: 6 });
    await client.send(new ConverseCommand(request()));
    const output = await client.send(new ConverseCommand(request()));
    expect(output.stopReason).toBe("end_turn");
    expect(output.$metadata.attempts).toBeGreaterThan(1);
    expect(backend.stats()[HAIKU]?.throttles).toBeGreaterThanOrEqual(1);
  });

  test("TPM quota counts input + maxTokens while in flight, actual usage after", async () => {
    // Each request reserves ~15 input + 400 maxTokens; 1000 TPM admits two at once, not three.
    const backend = createBedrockBackend({
      timeScale: 0.001,
      models: {
        [HAIKU]: {
          latency: { ...NO_LATENCY, meanMs: 30_000 },
          quota: { tokensPerMinute: 1000, requestsPerMinute: null },
        },
      },
    });
    const client = (await start(backend)).client({ maxAttempts: 1 });
    const results = await Promise.allSettled([1, 2, 3].map(() => client.send(new ConverseCommand(request(400)))));
    const rejected = results.filter((result) => result.status === "rejected");
    expect(rejected).toHaveLength(1);
    const reason = (rejected[0] as PromiseRejectedResult).reason as Error;
    expect(reason.name).toBe("ThrottlingException");
    expect(reason.message).toBe("Too many tokens, please wait before trying again.");
    // The two finished calls now hold only what they used (~30 tokens each), so more fit at once.
    const again = await Promise.allSettled([1, 2].map(() => client.send(new ConverseCommand(request(400)))));
    expect(again.every((result) => result.status === "fulfilled")).toBe(true);
    expect(backend.stats()[HAIKU]).toMatchObject({ throttledByTokens: 1, succeeded: 4 });
  });

  test("a request whose reservation alone exceeds TPM says to lower maxTokens", async () => {
    const backend = createBedrockBackend({
      models: { [HAIKU]: { latency: NO_LATENCY, quota: { tokensPerMinute: 100 } } },
    });
    const client = (await start(backend)).client({ maxAttempts: 1 });
    const error = await rejection(client.send(new ConverseCommand(request(500))));
    expect(error.name).toBe("ThrottlingException");
    expect(error.message).toMatch(/lower maxTokens/);
  });

  test("an inference profile is metered separately from its base model", async () => {
    const backend = createBedrockBackend({ defaults: { latency: NO_LATENCY, quota: { requestsPerMinute: 1 } } });
    const client = (await start(backend)).client({ maxAttempts: 1 });
    await client.send(new ConverseCommand(request()));
    await client.send(new ConverseCommand({ ...request(), modelId: `us.${HAIKU}` }));
    expect(Object.keys(backend.stats()).sort()).toEqual([HAIKU, `us.${HAIKU}`]);
  });
});
