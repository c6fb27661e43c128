import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvents, ofType } from "./support/bus-spy.ts";
import { startPipeline, waitForJob, type Pipeline } from "./support/pipeline.ts";

/**
 * A run with a budget stops calling the model once its counted spend reaches it: the jobs not yet
 * done fail BUDGET_EXCEEDED and are announced as usual, the run completes once, and the spend
 * passes the budget by at most what the jobs in progress then spent.
 */
let pipeline: Pipeline;
beforeAll(async () => {
  // Four messages at a time per stage: at most eight jobs in progress when the budget is reached.
  pipeline = await startPipeline({ bedrock: { timeScale: 0.2 }, concurrency: 4 });
});
afterAll(() => pipeline?.stop());

type Json = Record<string, any>;
const documents = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({
    title: `${tag} ${i}`,
    text: `INVOICE ${tag}-${i}. Amount due ${100 + i}.00 EUR within 30 days. Payment terms net 30. Ref ${tag}${i}.`,
  }));

describe("runs with a budget", () => {
  it("refuses a budget that names neither dollars nor tokens, or less than a millionth of a dollar", async () => {
    for (const budget of [{}, { usd: 5e-324 }, { usd: 0 }, { tokens: 0 }]) {
      const response = await pipeline.request("/v1/runs", { json: { documents: documents(1, "refused"), budget } });
      expect(response.status, JSON.stringify(budget)).toBe(400);
      expect(((await response.json()) as Json).error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("stops calling the model once the budget is spent: the rest fail BUDGET_EXCEEDED, announced, and the run completes once", async () => {
    // What one document of this kind uses: the budget is three of them.
    const probe = (await (
      await pipeline.request("/v1/documents?wait=20", { json: documents(1, "probe")[0] })
    ).json()) as Json;
    const perDocument = probe.usage.inputTokens + probe.usage.outputTokens;
    const budget = { tokens: perDocument * 3 };

    const total = 40;
    const response = await pipeline.request("/v1/runs", { json: { documents: documents(total, "capped"), budget } });
    expect(response.status).toBe(202);
    const { runId, jobIds } = (await response.json()) as { runId: string; jobIds: string[] };
    const events = await collectEvents(pipeline, (seen) => ofType(seen, "Run Completed").length > 0, 60_000);
    events.push(...(await collectEvents(pipeline, () => false, 1000)));

    const run = (await (await pipeline.request(`/v1/runs/${runId}`)).json()) as Json;
    expect(run.budget).toEqual(budget);
    expect(run.counts.complete + run.counts.failed).toBe(total);
    expect(run.counts.complete).toBeGreaterThanOrEqual(3);
    expect(run.counts.failed).toBeGreaterThanOrEqual(total / 2);
    const spent = run.usage.inputTokens + run.usage.outputTokens;
    expect(spent).toBeGreaterThanOrEqual(budget.tokens);
    // Past the budget by no more than the jobs in progress when it was reached: 4 + 4 messages at a time.
    expect(spent).toBeLessThanOrEqual(budget.tokens + 8 * perDocument);

    const jobs = await Promise.all(jobIds.map((jobId) => waitForJob(pipeline, jobId)));
    const failed = jobs.filter((job) => job.status === "failed");
    expect(failed.length).toBe(run.counts.failed);
    for (const job of failed) expect((job as Json).error.code).toBe("BUDGET_EXCEEDED");
    // Announced as usual: one Job Failed each, one Job Completed for each complete job, one Run Completed.
    const failedEvents = ofType(events, "Job Failed").filter((e) => e.detail.runId === runId);
    expect(new Set(failedEvents.map((e) => e.detail.jobId)).size).toBe(run.counts.failed);
    expect(ofType(events, "Run Completed").filter((e) => e.detail.runId === runId)).toHaveLength(1);
  });
});
