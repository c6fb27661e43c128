import { DEFAULT_MODEL_ID } from "@quire/contracts";
import { describe, expect, it } from "vitest";
import { costOf, DEFAULT_PRICES, loadPriceTable, pricedUsage } from "../src/index.ts";

describe("the price table", () => {
  it("prices the default model by default: Claude 3 Haiku at $0.25 / $1.25 per million tokens, batch half", () => {
    expect(DEFAULT_PRICES[DEFAULT_MODEL_ID]).toEqual({
      inputPerMillion: 0.25,
      outputPerMillion: 1.25,
      batchInputPerMillion: 0.125,
      batchOutputPerMillion: 0.625,
    });
  });

  it("turns usage into dollars, on demand or in batch, to the millionth of a dollar", () => {
    const usage = { inputTokens: 1_400, outputTokens: 300 };
    // 1,400 × 0.25 + 300 × 1.25 = 725 millionths of a dollar.
    expect(costOf(usage, DEFAULT_MODEL_ID, DEFAULT_PRICES)).toBe(0.000725);
    expect(costOf(usage, DEFAULT_MODEL_ID, DEFAULT_PRICES, "batch")).toBe(0.000363);
  });

  it("has no cost, rather than a zero one, for a model it has no price for", () => {
    expect(costOf({ inputTokens: 10, outputTokens: 10 }, "some.other-model", DEFAULT_PRICES)).toBeUndefined();
  });

  it("takes QUIRE_BEDROCK_PRICES over the defaults, model by model", () => {
    const table = loadPriceTable(
      JSON.stringify({
        "some.other-model": {
          inputPerMillion: 3,
          outputPerMillion: 15,
          batchInputPerMillion: 1.5,
          batchOutputPerMillion: 7.5,
        },
      }),
    );
    expect(Object.keys(table).sort()).toEqual([DEFAULT_MODEL_ID, "some.other-model"].sort());
    expect(costOf({ inputTokens: 1_000, outputTokens: 1_000 }, "some.other-model", table)).toBe(0.018);
  });

  it("refuses a table that is not JSON, or a price that is missing or negative, saying where", () => {
    expect(() => loadPriceTable("{not json")).toThrow(/QUIRE_BEDROCK_PRICES is not JSON/);
    expect(() => loadPriceTable(JSON.stringify({ m: { inputPerMillion: -1 } }))).toThrow(
      /QUIRE_BEDROCK_PRICES: m\.inputPerMillion: .*; m\.outputPerMillion/,
    );
  });

  it("sums results' tokens, pricing each at its own model in millionths of a dollar; one unpriced result leaves no cost", () => {
    const summary = { usage: { inputTokens: 1_400, outputTokens: 300 }, modelId: DEFAULT_MODEL_ID };
    const classification = { usage: { inputTokens: 900, outputTokens: 40 }, modelId: DEFAULT_MODEL_ID };
    // 725 + (225 + 50) millionths.
    expect(pricedUsage([summary, classification], DEFAULT_PRICES)).toEqual({
      inputTokens: 2_300,
      outputTokens: 340,
      costMicroUsd: 1_000,
    });
    expect(pricedUsage([summary, { ...classification, modelId: "some.other-model" }], DEFAULT_PRICES)).toEqual({
      inputTokens: 2_300,
      outputTokens: 340,
      costMicroUsd: undefined,
    });
  });

  it("prices a result from batch inference at the batch rate", () => {
    const summary = { usage: { inputTokens: 1_400, outputTokens: 300 }, modelId: DEFAULT_MODEL_ID };
    // On demand 725 millionths; in batch half that (rounded).
    expect(pricedUsage([{ ...summary, inference: "batch" }], DEFAULT_PRICES).costMicroUsd).toBe(363);
    expect(pricedUsage([{ ...summary, inference: "onDemand" }], DEFAULT_PRICES).costMicroUsd).toBe(725);
  });
});
