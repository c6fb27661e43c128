import { describe, expect, it } from "vitest";
import { ANSWER_MARGIN_MS, waitBudgetMs } from "../src/app.ts";

const inLambda = (remainingMs: number) => ({ lambdaContext: { getRemainingTimeInMillis: () => remainingMs } });

describe("how long a sync request (?wait=) waits", () => {
  it("waits as asked outside Lambda", () => {
    expect(waitBudgetMs(30_000, undefined)).toBe(30_000);
    expect(waitBudgetMs(30_000, {})).toBe(30_000);
  });

  it("in Lambda, stops early enough to answer 202 before the invocation (and API Gateway's 30 s) ends", () => {
    expect(waitBudgetMs(30_000, inLambda(29_500))).toBe(29_500 - ANSWER_MARGIN_MS);
    expect(waitBudgetMs(10_000, inLambda(29_500))).toBe(10_000);
    expect(waitBudgetMs(30_000, inLambda(1_000))).toBe(0);
  });
});
