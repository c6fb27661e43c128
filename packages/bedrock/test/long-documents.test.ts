import type { Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leadingExcerpt, splitForContext } from "../src/chunking.ts";
import { createBedrockStageClient } from "../src/index.ts";
import { INVOICE_TEXT, LONG_TEXT, startBedrockDevcloud, testClient } from "./support.ts";

describe("splitting a document that is longer than the model's context", () => {
  it("cuts at sentence ends and loses no text", () => {
    const text = Array.from({ length: 200 }, (_, i) => `Sentence number ${i} says something.`).join(" ");
    const chunks = splitForContext(text, 500);
    expect(chunks.every((c) => c.length <= 500)).toBe(true);
    expect(chunks.every((c) => c.endsWith("."))).toBe(true);
    expect(chunks.join(" ")).toBe(text);
  });

  it("cuts hard only when a chunk has no boundary in its last fifth", () => {
    expect(splitForContext("x".repeat(250), 100)).toEqual(["x".repeat(100), "x".repeat(100), "x".repeat(50)]);
  });

  it("the leading excerpt of a short text is the text itself", () => {
    expect(leadingExcerpt("short.", 100)).toBe("short.");
  });
});

describe("documents over the input budget, against the emulator", () => {
  let devcloud: Devcloud;
  beforeAll(async () => {
    devcloud = await startBedrockDevcloud();
  });
  afterAll(() => devcloud.stop());

  it("are summarized map-reduce: one call per part and one over the parts' summaries, usage summed", async () => {
    const stage = createBedrockStageClient({ client: testClient(devcloud).client, maxInputChars: 20_000 });
    const text = LONG_TEXT.repeat(Math.ceil(50_000 / LONG_TEXT.length));
    devcloud.bedrock.resetStats();
    // Short part summaries, so that one reduce step over them fits the budget.
    const result = await stage.summarize(text, { maxTokens: 200 });
    const parts = splitForContext(text, 20_000).length;
    expect(parts).toBeGreaterThan(1);
    const calls = Object.values(devcloud.bedrock.stats()).reduce((sum, s) => sum + s.calls, 0);
    expect(calls).toBe(parts + 1);
    expect(result.attempts).toBe(parts + 1);
    expect(result.usage.totalTokens).toBe(result.usage.inputTokens + result.usage.outputTokens);
    expect(result.text.length).toBeGreaterThan(0);
  });

  it("are classified on their leading excerpt, in one call", async () => {
    const stage = createBedrockStageClient({ client: testClient(devcloud).client, maxInputChars: 2000 });
    devcloud.bedrock.resetStats();
    const result = await stage.classify(`${INVOICE_TEXT} ${"Filler sentence here. ".repeat(500)}`);
    expect(result.label).toBe("invoice");
    expect(Object.values(devcloud.bedrock.stats()).reduce((sum, s) => sum + s.calls, 0)).toBe(1);
  });
});
