import type { Run } from "@quire/jobs";
import { describe, expect, it } from "vitest";
import { runView } from "../src/app.ts";

const startedAt = "2026-11-29T08:00:00.000Z";
const run = (fields: Partial<Run>): Run => ({
  runId: "run_01M8KJZ8J15WNYQ1GPY7AFE9BK",
  total: 200,
  started: 0,
  complete: 0,
  failed: 0,
  countsByClassification: {},
  startedAt,
  updatedAt: startedAt,
  completionPublished: false,
  inputTokens: 0,
  outputTokens: 0,
  costMicroUsd: 0,
  unpricedJobs: 0,
  ...fields,
});
const at = (seconds: number) => new Date(Date.parse(startedAt) + seconds * 1000);

describe("GET /v1/runs/{id}: live throughput, ETA and deadline", () => {
  it("measures throughput from the documents finished so far and projects the rest at that rate", () => {
    const view = runView(run({ started: 80, complete: 45, failed: 5 }), at(100));
    expect(view.counts).toEqual({ total: 200, pending: 120, processing: 30, complete: 45, failed: 5 });
    expect(view.throughput).toEqual({ documentsPerSecond: 0.5 });
    // 150 left at 0.5 documents/s: 300 s from now.
    expect(view.eta).toBe(at(400).toISOString());
  });

  it("is on track while the ETA is inside the deadline, and off track once it is not", () => {
    expect(runView(run({ complete: 50, deadline: "PT10M" }), at(100)).deadline).toEqual({
      duration: "PT10M",
      at: at(600).toISOString(),
      onTrack: true,
    });
    expect(runView(run({ complete: 10, deadline: "PT10M" }), at(100)).deadline?.onTrack).toBe(false);
  });

  it("has no ETA before anything finished, and no deadline verdict without one", () => {
    const view = runView(run({ started: 10, deadline: "PT10M" }), at(5));
    expect(view.eta).toBeUndefined();
    expect(view.deadline?.onTrack).toBeNull();
  });

  it("judges a finished run by when it completed", () => {
    const finished = run({ started: 200, complete: 200, completedAt: at(700).toISOString(), deadline: "PT10M" });
    expect(runView(finished, at(800))).toMatchObject({ status: "complete", deadline: { onTrack: false } });
  });
});

describe("GET /v1/runs/{id}: usage and cost", () => {
  it("shows the run's counted tokens and their cost in dollars, and how many jobs had no price", () => {
    const view = runView(run({ inputTokens: 4_120, outputTokens: 910, costMicroUsd: 2_168, unpricedJobs: 1 }), at(10));
    expect(view.usage).toEqual({ inputTokens: 4_120, outputTokens: 910, costUsd: 0.002168, unpricedJobs: 1 });
  });

  it("says how the run's model calls are made: batch until its fallback time, or nothing for a run from before the choice", () => {
    const fallbackAt = "2026-11-30T07:00:00.000Z";
    expect(runView(run({ inference: { mode: "batch", fallbackAt } }), at(10)).inference).toEqual({
      mode: "batch",
      fallbackAt,
    });
    expect(runView(run({}), at(10))).not.toHaveProperty("inference");
  });
});
