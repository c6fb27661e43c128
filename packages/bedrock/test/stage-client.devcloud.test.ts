/**
 * The stage client against devcloud's Bedrock emulator over real HTTP (the edge speaks HTTP/2,
 * so the SDK's default handler is used). The emulator's model is deterministic; its quotas and
 * fault injection stand in for Bedrock's throttling and outages.
 */
import { summaryResult, classificationResult } from "@quire/contracts";
import type { Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  AbortError,
  BedrockRequestError,
  createBedrockStageClient,
  createGovernor,
  DEFAULT_MODEL_ID,
  ModelOutputError,
  ModelUnavailableError,
  sleep,
  type ConverseEvent,
  type StageAttemptEvent,
} from "../src/index.ts";
import { INVOICE_TEXT, LONG_TEXT, MOTION_TEXT, startBedrockDevcloud, TEST_MODELS, testClient } from "./support.ts";

let devcloud: Devcloud;

beforeAll(async () => {
  devcloud = await startBedrockDevcloud();
});

afterAll(async () => {
  await devcloud?.stop();
});

beforeEach(() => {
  devcloud.bedrock.resetStats();
});

const noSleep = async () => {};
const callsTo = (modelId: string) => devcloud.bedrock.stats()[modelId]?.calls ?? 0;

describe("summarize", () => {
  it("returns the summary with usage, model id and prompt version", async () => {
    const { client } = testClient(devcloud);
    const stage = createBedrockStageClient({ client });
    const result = await stage.summarize(LONG_TEXT);

    const { latencyMs, attempts, ...stored } = result;
    expect(summaryResult.parse(stored)).toEqual(stored);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.modelId).toBe(DEFAULT_MODEL_ID);
    expect(result.promptVersion).toBe("summary-v1");
    expect(stage.summaryPromptVersion).toBe("summary-v1");
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.totalTokens).toBe(result.usage.inputTokens + result.usage.outputTokens);
    expect(attempts).toBe(1);
    expect(latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("honours maxTokens", async () => {
    const { client } = testClient(devcloud);
    const stage = createBedrockStageClient({ client });
    const full = await stage.summarize(LONG_TEXT);
    const short = await stage.summarize(LONG_TEXT, { maxTokens: 20 });

    expect(full.usage.outputTokens).toBeGreaterThan(20);
    expect(short.usage.outputTokens).toBeLessThanOrEqual(20);
    expect(short.text.length).toBeLessThan(full.text.length);
  });
});

describe("classify", () => {
  it("labels an invoice and a motion from the default taxonomy with confidence in [0, 1]", async () => {
    const { client } = testClient(devcloud);
    const stage = createBedrockStageClient({ client });
    const invoice = await stage.classify(INVOICE_TEXT);
    const motion = await stage.classify(MOTION_TEXT);

    expect(invoice.label).toBe("invoice");
    expect(motion.label).toBe("court-filing");
    for (const result of [invoice, motion]) {
      const { latencyMs: _latency, attempts: _attempts, ...stored } = result;
      expect(classificationResult.parse(stored)).toEqual(stored);
      expect(result.confidence).toBeGreaterThanOrEqual(0);
      expect(result.confidence).toBeLessThanOrEqual(1);
      expect(result.promptVersion).toBe("classification-v1");
      expect(result.attempts).toBe(1);
    }
  });

  it("respects a custom taxonomy in the tool schema, the answer and the prompt version", async () => {
    const { client } = testClient(devcloud);
    const send = vi.spyOn(client, "send");
    const taxonomy = ["shipping-notice", "invoice", "other"];
    const stage = createBedrockStageClient({ client, taxonomy });
    const result = await stage.classify(
      "Shipping notice. Your parcel has shipped today by courier. This shipping notice confirms the dispatch of order 4471; tracking details follow.",
    );

    expect(result.label).toBe("shipping-notice");
    const command = send.mock.calls[0]?.[0] as {
      input: { toolConfig?: { tools?: Array<{ toolSpec?: { inputSchema?: { json?: unknown } } }> } };
    };
    const schema = command.input.toolConfig?.tools?.[0]?.toolSpec?.inputSchema?.json as {
      properties: { label: { enum: string[] } };
    };
    expect(schema.properties.label.enum).toEqual(taxonomy);
    // Results under another taxonomy must not share cache entries with the default one.
    expect(stage.classificationPromptVersion).toMatch(/^classification-v1\+tx-[0-9a-f]{8}$/);
    expect(result.promptVersion).toBe(stage.classificationPromptVersion);
  });
});

describe("retries", () => {
  it("retries throttling under a 1-request-per-minute quota until the window passes", async () => {
    const { client } = testClient(devcloud);
    const events: StageAttemptEvent[] = [];
    // Real sleeps (the quota window is real time: 300 ms), deterministic maximal jitter.
    const stage = createBedrockStageClient({
      client,
      modelId: TEST_MODELS.throttled,
      retry: { maxAttempts: 8, baseDelayMs: 40, maxDelayMs: 200 },
      random: () => 0.999,
      onAttempt: (event) => events.push(event),
    });
    await stage.summarize(INVOICE_TEXT);
    const second = await stage.summarize(INVOICE_TEXT);

    expect(second.attempts).toBeGreaterThan(1);
    expect(second.text.length).toBeGreaterThan(0);
    expect(devcloud.bedrock.stats()[TEST_MODELS.throttled]?.throttles).toBe(second.attempts - 1);
    expect(events.filter((event) => event.error === "ThrottlingException").length).toBe(second.attempts - 1);
    expect(events.at(-1)).toMatchObject({ attempt: second.attempts, stage: "summary", usage: second.usage });
  });

  it("reports every Converse request to onConverse: each throttle by name, the answer with its tokens and latency", async () => {
    const { client } = testClient(devcloud);
    const requests: ConverseEvent[] = [];
    const stage = createBedrockStageClient({
      client,
      modelId: TEST_MODELS.throttled,
      retry: { maxAttempts: 8, baseDelayMs: 40, maxDelayMs: 200 },
      random: () => 0.999,
      onConverse: (event) => requests.push(event),
    });
    // The quota window may still hold the previous test's call: the first summary can be throttled too.
    const first = await stage.summarize(INVOICE_TEXT);
    const second = await stage.summarize(INVOICE_TEXT);

    expect(second.attempts).toBeGreaterThan(1);
    expect(requests).toHaveLength(first.attempts + second.attempts);
    const throttled = requests.filter((r) => r.error === "ThrottlingException");
    expect(throttled).toHaveLength(first.attempts - 1 + second.attempts - 1);
    expect(throttled.every((r) => r.usage === undefined && r.modelId === TEST_MODELS.throttled)).toBe(true);
    expect(requests.at(-1)).toEqual({
      modelId: TEST_MODELS.throttled,
      latencyMs: expect.any(Number),
      usage: second.usage,
    });
  });

  it("gives up on ServiceUnavailable with ModelUnavailableError after exactly maxAttempts calls", async () => {
    // The client keeps the SDK's default retries (3 attempts): exactly 4 calls proves they are off.
    const { client } = testClient(devcloud);
    const delays: number[] = [];
    const stage = createBedrockStageClient({
      client,
      modelId: TEST_MODELS.unavailable,
      retry: { maxAttempts: 4 },
      // Full jitter may draw a 0 ms wait, which skips the sleep: a fixed draw keeps the count exact.
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const error = await stage.summarize(INVOICE_TEXT).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error).toMatchObject({
      code: "MODEL_UNAVAILABLE",
      attempts: 4,
      cause: { name: "ServiceUnavailableException" },
    });
    expect(callsTo(TEST_MODELS.unavailable)).toBe(4);
    expect(devcloud.bedrock.stats()[TEST_MODELS.unavailable]?.faults.serviceUnavailable).toBe(4);
    expect(delays).toHaveLength(3);
  });

  it("throws BedrockRequestError for an unknown model id without retrying", async () => {
    const { client, wireRequests } = testClient(devcloud);
    const events: StageAttemptEvent[] = [];
    const stage = createBedrockStageClient({
      client,
      modelId: "anthropic.claude-does-not-exist-v9:0",
      sleep: noSleep,
      onAttempt: (event) => events.push(event),
    });
    const error = await stage.classify(INVOICE_TEXT).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(BedrockRequestError);
    expect(error).toMatchObject({
      code: "MODEL_REQUEST_INVALID",
      errorName: "ValidationException",
      httpStatusCode: 400,
    });
    expect(wireRequests()).toBe(1);
    expect(events).toEqual([{ attempt: 1, error: "ValidationException", stage: "classification" }]);
  });

  it("retries a ModelErrorException twice, then fails permanently", async () => {
    const { client } = testClient(devcloud);
    const stage = createBedrockStageClient({ client, modelId: TEST_MODELS.modelError, sleep: noSleep });
    const error = await stage.classify(INVOICE_TEXT).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ModelOutputError);
    expect(error).toMatchObject({ code: "MODEL_OUTPUT_INVALID", problem: "model-error", attempts: 3 });
    expect(callsTo(TEST_MODELS.modelError)).toBe(3);
  });

  it("abandons an attempt after timeoutMs and counts it as transient", async () => {
    const { client } = testClient(devcloud);
    const stage = createBedrockStageClient({
      client,
      modelId: TEST_MODELS.slow,
      retry: { maxAttempts: 2, timeoutMs: 100 },
      sleep: noSleep,
    });
    const started = performance.now();
    const error = await stage.summarize(INVOICE_TEXT).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error).toMatchObject({ attempts: 2, cause: { name: "AttemptTimeoutError" } });
    // Two 100 ms attempts, not two 1 s model answers.
    expect(performance.now() - started).toBeLessThan(800);
  });
});

describe("admission by the caller", () => {
  it("asks `admit` once the governor's permit is held; its refusal is the caller's own error, at once, and nothing is sent", async () => {
    const { client, wireRequests } = testClient(devcloud);
    const governor = createGovernor({ initialLimit: 2 });
    const order: string[] = [];
    const stage = createBedrockStageClient({ client, sleep: noSleep, governor });
    const refusal = new Error("the run spent its budget");
    const error = await stage
      .summarize(INVOICE_TEXT, {
        admit: async () => {
          order.push(`admit with ${governor.stats()[0]?.inFlight} in flight`);
          throw refusal;
        },
      })
      .catch((caught: unknown) => caught);
    expect(error).toBe(refusal);
    expect(order).toEqual(["admit with 1 in flight"]);
    expect(wireRequests()).toBe(0);
    // The permit went back without counting an error against the model.
    expect(governor.stats()[0]).toMatchObject({ inFlight: 0, errors: 0, successes: 0, circuit: "closed" });

    const admitted = await stage.summarize(INVOICE_TEXT, { admit: async () => {} });
    expect(admitted.text.length).toBeGreaterThan(0);
    expect(wireRequests()).toBe(1);
  });
});

describe("abort", () => {
  it("stops retrying when the caller aborts during backoff", async () => {
    const { client } = testClient(devcloud);
    const controller = new AbortController();
    const stage = createBedrockStageClient({
      client,
      modelId: TEST_MODELS.unavailable,
      retry: { maxAttempts: 6, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      random: () => 0.5,
      // The caller gives up while we wait to retry: the real sleep must end at once.
      sleep: (ms, signal) => {
        setTimeout(() => controller.abort(), 20);
        return sleep(ms, signal);
      },
    });
    const started = performance.now();
    const error = await stage.summarize(INVOICE_TEXT, { signal: controller.signal }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).name).toBe("AbortError");
    expect(callsTo(TEST_MODELS.unavailable)).toBe(1);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("cancels an in-flight call when the caller aborts", async () => {
    const { client } = testClient(devcloud);
    const stage = createBedrockStageClient({ client, modelId: TEST_MODELS.slow, sleep: noSleep });
    const started = performance.now();
    const error = await stage
      .summarize(INVOICE_TEXT, { signal: AbortSignal.timeout(50) })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AbortError);
    expect(callsTo(TEST_MODELS.slow)).toBe(1);
    expect(performance.now() - started).toBeLessThan(700);
  });

  it("makes no call when the signal is already aborted", async () => {
    const { client, wireRequests } = testClient(devcloud);
    const stage = createBedrockStageClient({ client });
    const error = await stage
      .classify(INVOICE_TEXT, { signal: AbortSignal.abort() })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AbortError);
    expect(wireRequests()).toBe(0);
  });
});
