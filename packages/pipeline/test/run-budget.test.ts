import { describe, expect, it } from "vitest";
import { budgetExceeded, createRunBudget } from "../src/run-budget.ts";

const spend = { costMicroUsd: 0, inputTokens: 0, outputTokens: 0 };

describe("a run's budget", () => {
  it("is not exceeded without a budget, whatever was spent", () => {
    expect(budgetExceeded({ ...spend, costMicroUsd: 9e9 })).toBeUndefined();
  });

  it("is exceeded once the counted dollars reach it, or the counted tokens, whichever comes first", () => {
    expect(budgetExceeded({ ...spend, budget: { usd: 0.01 }, costMicroUsd: 9_999 })).toBeUndefined();
    expect(budgetExceeded({ ...spend, budget: { usd: 0.01 }, costMicroUsd: 10_000 })).toBe(
      "the run spent $0.010000 of its $0.01 budget",
    );
    expect(
      budgetExceeded({ ...spend, budget: { tokens: 1_000 }, inputTokens: 800, outputTokens: 199 }),
    ).toBeUndefined();
    expect(budgetExceeded({ ...spend, budget: { usd: 5, tokens: 1_000 }, inputTokens: 800, outputTokens: 200 })).toBe(
      "the run used 1000 of its 1000 tokens",
    );
  });

  it("reads a run without a budget once per process, and a run with one before every model call", async () => {
    const reads: string[] = [];
    const runs: Record<string, object> = {
      run_free: { ...spend },
      run_capped: { ...spend, budget: { tokens: 10 }, inputTokens: 12 },
    };
    const check = createRunBudget({
      getRun: async (runId: string) => {
        reads.push(runId);
        return runs[runId] as never;
      },
    });
    for (let i = 0; i < 3; i++) {
      expect(await check("run_free")).toBeUndefined();
      expect(await check("run_capped")).toBe("the run used 12 of its 10 tokens");
    }
    expect(await check(undefined)).toBeUndefined();
    expect(reads).toEqual(["run_free", "run_capped", "run_capped", "run_capped"]);
  });
});
