/** Fault injection, simulated latency and time scaling, run-time reconfiguration, config from env. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConverseCommand, type ConverseCommandInput } from "@aws-sdk/client-bedrock-runtime";
import { afterEach, describe, expect, test } from "vitest";
import {
  bedrockOptionsFromEnv,
  createBedrockBackend,
  parseModelIdentifier,
  type BedrockBackend,
} from "../src/bedrock/index.ts";
import { drawFault, mulberry32, sampleLatencyMs } from "../src/bedrock/faults.ts";
import { HAIKU, rejection, serve, type Harness } from "./bedrock-helpers.ts";

const NO_LATENCY = { distribution: "fixed", meanMs: 0, jitterMs: 0, perOutputTokenMs: 0, minMs: 0 } as const;
const request: ConverseCommandInput = {
  modelId: HAIKU,
  messages: [{ role: "user", content: [{ text: "The court granted the motion. The hearing is set for May." }] }],
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});
async function clientFor(backend: BedrockBackend, maxAttempts = 1) {
  harness = await serve(backend);
  return harness.client({ maxAttempts });
}

describe("fault injection", () => {
  test.each([
    ["modelErrorRate", "ModelErrorException", 424],
    ["serviceUnavailableRate", "ServiceUnavailableException", 503],
    ["modelTimeoutRate", "ModelTimeoutException", 408],
  ] as const)("%s 1.0 → every call fails with %s (%i)", async (rate, name, status) => {
    const backend = createBedrockBackend({ models: { [HAIKU]: { latency: NO_LATENCY, faults: { [rate]: 1 } } } });
    const client = await clientFor(backend);
    for (let attempt = 0; attempt < 3; attempt++) {
      const error = await rejection(client.send(new ConverseCommand(request)));
      expect(error.name).toBe(name);
      expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(status);
    }
  });

  test("ModelErrorException carries the modelled originalStatusCode and resourceName", async () => {
    const client = await clientFor(
      createBedrockBackend({ models: { [HAIKU]: { latency: NO_LATENCY, faults: { modelErrorRate: 1 } } } }),
    );
    const error = await rejection(client.send(new ConverseCommand(request)));
    expect(error).toMatchObject({ originalStatusCode: 500, resourceName: HAIKU });
  });

  test("the SDK retries a 503 and succeeds when the fault clears", async () => {
    const backend = createBedrockBackend({
      models: { [HAIKU]: { latency: NO_LATENCY, faults: { serviceUnavailableRate: 0.5 } } },
      seed: 7,
    });
    const client = await clientFor(backend, 10);
    for (let call = 0; call < 5; call++)
      expect((await client.send(new ConverseCommand(request))).stopReason).toBe("end_turn");
    expect(backend.stats()[HAIKU]?.faults.serviceUnavailable).toBeGreaterThan(0);
  });

  test("fault sequences are deterministic for a seed", () => {
    const faults = {
      modelErrorRate: 0.2,
      serviceUnavailableRate: 0.1,
      modelTimeoutRate: 0.05,
      slowRate: 0,
      slowFactor: 5,
    };
    const run = (seed: number) => {
      const random = mulberry32(seed);
      return Array.from({ length: 50 }, () => drawFault(faults, random));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
    const drawn = Array.from(
      { length: 10_000 },
      (
        (random) => () =>
          drawFault(faults, random)
      )(mulberry32(1)),
    );
    expect(drawn.filter((fault) => fault === "modelError").length / 10_000).toBeCloseTo(0.2, 1);
  });

  test("configureModel changes faults at run time and makes new ids known", async () => {
    const backend = createBedrockBackend({ defaults: { latency: NO_LATENCY } });
    const client = await clientFor(backend);
    await client.send(new ConverseCommand(request));
    backend.configureModel(HAIKU, { faults: { modelErrorRate: 1 } });
    expect((await rejection(client.send(new ConverseCommand(request)))).name).toBe("ModelErrorException");
    backend.configureModel(HAIKU, { faults: { modelErrorRate: 0 } });
    await client.send(new ConverseCommand(request));
    backend.configureModel("acme.local-model-v1", { maxOutputTokens: 1000 });
    expect((await client.send(new ConverseCommand({ ...request, modelId: "acme.local-model-v1" }))).stopReason).toBe(
      "end_turn",
    );
    expect(backend.stats()[HAIKU]).toMatchObject({ calls: 3, succeeded: 2, faults: { modelError: 1 } });
    expect(() => backend.configureModel(HAIKU, { faults: { modelErrorRate: 2 } })).toThrow();
  });
});

describe("latency", () => {
  test("timeScale shortens the wait but metrics.latencyMs reports the unscaled latency", async () => {
    const backend = createBedrockBackend({
      timeScale: 0.01,
      models: { [HAIKU]: { latency: { ...NO_LATENCY, meanMs: 8000 } } },
    });
    const client = await clientFor(backend);
    const started = performance.now();
    const output = await client.send(new ConverseCommand(request));
    const elapsed = performance.now() - started;
    expect(output.metrics?.latencyMs).toBe(8000);
    expect(elapsed).toBeGreaterThanOrEqual(75);
    expect(elapsed).toBeLessThan(1000);
  });

  test("latency grows with output tokens", () => {
    const latency = { ...NO_LATENCY, meanMs: 200, perOutputTokenMs: 10 };
    expect(sampleLatencyMs(latency, 100, mulberry32(1))).toBe(1200);
  });

  test.each(["uniform", "normal", "lognormal"] as const)(
    "%s samples centre on meanMs and respect minMs",
    (distribution) => {
      const latency = { distribution, meanMs: 500, jitterMs: 100, perOutputTokenMs: 0, minMs: 50 };
      const random = mulberry32(3);
      const samples = Array.from({ length: 4000 }, () => sampleLatencyMs(latency, 0, random));
      const mean = samples.reduce((sum, sample) => sum + sample, 0) / samples.length;
      expect(Math.abs(mean - 500)).toBeLessThan(15);
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(50);
    },
  );

  test("slow responses take slowFactor times longer", async () => {
    const backend = createBedrockBackend({
      timeScale: 0.001,
      models: { [HAIKU]: { latency: { ...NO_LATENCY, meanMs: 1000 }, faults: { slowRate: 1, slowFactor: 4 } } },
    });
    const output = await (await clientFor(backend)).send(new ConverseCommand(request));
    expect(output.metrics?.latencyMs).toBe(4000);
    expect(backend.stats()[HAIKU]?.slowResponses).toBe(1);
  });
});

describe("configuration", () => {
  test("defaults just work, with catalog limits per model", () => {
    const backend = createBedrockBackend();
    expect(backend.options).toMatchObject({ timeScale: 1, seed: 1, acceptUnknownModels: false });
    expect(backend.behaviourOf(HAIKU).maxOutputTokens).toBe(4096);
    expect(backend.behaviourOf("us.anthropic.claude-sonnet-4-20250514-v1:0").maxOutputTokens).toBe(64_000);
    expect(backend.behaviourOf("amazon.nova-micro-v1:0").quota.requestsPerMinute).toBeGreaterThan(0);
  });

  test("layers: defaults, then base model, then the exact (profile) id", () => {
    const backend = createBedrockBackend({
      defaults: { quota: { requestsPerMinute: 10 } },
      models: { [HAIKU]: { quota: { tokensPerMinute: 5000 } }, [`us.${HAIKU}`]: { quota: { requestsPerMinute: 20 } } },
    });
    expect(backend.behaviourOf(HAIKU).quota).toEqual({ requestsPerMinute: 10, tokensPerMinute: 5000 });
    expect(backend.behaviourOf(`us.${HAIKU}`).quota).toEqual({ requestsPerMinute: 20, tokensPerMinute: 5000 });
  });

  test("model identifiers: ARNs reduce to their resource id, profiles to their base model", () => {
    expect(parseModelIdentifier(`arn:aws:bedrock:eu-west-1:1:inference-profile/eu.${HAIKU}`)).toEqual({
      requestedId: `eu.${HAIKU}`,
      baseModelId: HAIKU,
    });
  });

  test("QUIRE_BEDROCK_CONFIG accepts inline JSON or a file path, and rejects invalid config", () => {
    const json = JSON.stringify({ timeScale: 0.01, models: { [HAIKU]: { quota: { requestsPerMinute: 50 } } } });
    expect(bedrockOptionsFromEnv({ QUIRE_BEDROCK_CONFIG: json })).toMatchObject({ timeScale: 0.01 });
    const file = join(mkdtempSync(join(tmpdir(), "quire-bedrock-")), "bedrock.json");
    writeFileSync(file, json);
    expect(bedrockOptionsFromEnv({ QUIRE_BEDROCK_CONFIG: file })).toEqual(JSON.parse(json));
    expect(bedrockOptionsFromEnv({})).toEqual({});
    expect(() => bedrockOptionsFromEnv({ QUIRE_BEDROCK_CONFIG: '{"timeScale": -1}' })).toThrow(/timeScale/);
    expect(() => bedrockOptionsFromEnv({ QUIRE_BEDROCK_CONFIG: "/no/such/file.json" })).toThrow(/cannot read/);
  });
});
