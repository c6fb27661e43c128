import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvents, ofType } from "./support/bus-spy.ts";
import { startPipeline, type Pipeline } from "./support/pipeline.ts";

const KINDS = [
  "This Agreement is made between the parties. The Tenant shall pay rent. The Landlord hereby grants the lease.",
  "INVOICE number 88. Amount due 120.00. Total due within 30 days. Payment terms net 30.",
  "Dear Sir, thank you for your letter. We will reply soon. Yours sincerely, the team.",
  "Plaintiff moves the Court to dismiss. The defendant filed a motion. Case No. 12-cv-1.",
];

describe("a run of 200 documents", () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ bedrock: { timeScale: 0.01 } });
  });
  afterAll(() => pipeline.stop());

  it("completes with 200 Job Completed events and exactly one Run Completed", async () => {
    const documents = Array.from({ length: 200 }, (_, i) => ({
      text: `${KINDS[i % KINDS.length]} Document ${i}.`,
      title: `doc ${i}`,
    }));
    const response = await pipeline.request("/v1/runs", { json: { documents } });
    expect(response.status).toBe(202);
    const { runId, jobIds } = (await response.json()) as { runId: string; jobIds: string[] };
    expect(new Set(jobIds).size).toBe(200);

    type Counts = { total: number; pending: number; processing: number; complete: number; failed: number };
    const early = (await (await pipeline.request(`/v1/runs/${runId}`)).json()) as { counts: Counts };
    expect(early.counts.total).toBe(200);
    expect(early.counts.pending + early.counts.processing + early.counts.complete + early.counts.failed).toBe(200);

    const events = await collectEvents(
      pipeline,
      (seen) => ofType(seen, "Run Completed").length > 0 && ofType(seen, "Job Completed").length >= 200,
      90_000,
    );
    // Give a straggling duplicate time to show itself.
    events.push(...(await collectEvents(pipeline, () => false, 1500)));

    const completed = ofType(events, "Job Completed").map((e) => e.detail.jobId);
    expect(completed.length).toBe(200);
    expect(new Set(completed)).toEqual(new Set(jobIds));
    const runsCompleted = ofType(events, "Run Completed");
    expect(runsCompleted).toHaveLength(1);
    expect(runsCompleted[0]!.detail).toMatchObject({ runId, total: 200, completed: 200, failed: 0 });

    const run = (await (await pipeline.request(`/v1/runs/${runId}`)).json()) as {
      status: string;
      counts: Record<string, number>;
    };
    expect(run).toMatchObject({
      status: "complete",
      counts: { total: 200, pending: 0, processing: 0, complete: 200, failed: 0 },
    });

    // Usage and cost: the run's totals are its jobs' own, each counted once, and Run Completed says the same.
    type Usage = { inputTokens: number; outputTokens: number; costUsd: number };
    const jobs: { usage: Usage }[] = [];
    let cursor: string | undefined;
    do {
      const page = (await (
        await pipeline.request(`/v1/runs/${runId}/jobs?limit=200${cursor ? `&cursor=${cursor}` : ""}`)
      ).json()) as { jobs: { usage: Usage }[]; nextCursor?: string };
      jobs.push(...page.jobs);
      cursor = page.nextCursor;
    } while (cursor);
    const sum = (pick: (u: Usage) => number) => jobs.reduce((total, job) => total + pick(job.usage), 0);
    const usage = (run as unknown as { usage: Usage & { unpricedJobs: number } }).usage;
    expect(usage.inputTokens).toBe(sum((u) => u.inputTokens));
    expect(usage.outputTokens).toBe(sum((u) => u.outputTokens));
    expect(usage.costUsd).toBeGreaterThan(0);
    expect(usage.costUsd).toBeCloseTo(
      sum((u) => u.costUsd),
      5,
    );
    expect(usage.unpricedJobs).toBe(0);
    expect(runsCompleted[0]!.detail.usage).toEqual(usage);
  });
});
