import { describe, expect, it } from "vitest";
import { durationSeconds, planRun } from "../src/planning.ts";

const docs = (n: number, chars = 4000) => Array.from({ length: n }, () => ({ text: "x".repeat(chars) }));
const now = new Date("2026-11-23T20:00:00.000Z");

describe("deadline planning", () => {
  it("reads ISO 8601 durations", () => {
    expect(durationSeconds("PT60M")).toBe(3600);
    expect(durationSeconds("P1DT2H30M15.5S")).toBe(86_400 + 7200 + 1800 + 15.5);
    expect(durationSeconds("P2W")).toBe(1_209_600);
    expect(() => durationSeconds("P1Y")).toThrow("ambiguous");
  });

  it("10,000 documents at 400 RPM and 8 s fit in an hour, needing 54 in flight", () => {
    const plan = planRun(
      docs(10_000),
      "PT60M",
      { requestsPerMinute: 400, tokensPerMinute: 10_000_000, meanLatencyMs: 8000 },
      now,
    );
    expect(plan).toMatchObject({
      feasible: true,
      requiredConcurrency: 54,
      callsPerMinute: 400,
      bindingConstraint: "rpm",
      deadlineAt: "2026-11-23T21:00:00.000Z",
    });
    expect(plan.expectedSeconds).toBe(3008);
  });

  it("the same run cannot meet 30 minutes", () => {
    expect(planRun(docs(10_000), "PT30M", { requestsPerMinute: 400, meanLatencyMs: 8000 }, now).feasible).toBe(false);
  });

  it("long documents make the token quota bind", () => {
    const plan = planRun(
      docs(1000, 40_000),
      "PT60M",
      { requestsPerMinute: 400, tokensPerMinute: 1_000_000, meanLatencyMs: 8000 },
      now,
    );
    expect(plan).toMatchObject({ bindingConstraint: "tpm", callsPerMinute: 96, feasible: true });
  });

  it("without a configured quota it says so instead of guessing", () => {
    expect(planRun(docs(10), "PT1M", { meanLatencyMs: 8000 }, now)).toMatchObject({
      feasible: null,
      reason: expect.stringContaining("QUIRE_BEDROCK_RPM"),
    });
  });
});
