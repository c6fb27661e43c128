/**
 * Runs through Bedrock batch inference, end to end: POST /v1/runs, ingestion's `run.batch`, the
 * batcher's jobs on devcloud's batch API, the answers into the result cache, the stages completing
 * every job from it — with the same exactly-once events as on demand.
 */
import { ListModelInvocationJobsCommand } from "@aws-sdk/client-bedrock";
import { afterEach, describe, expect, it } from "vitest";
import { collectEvents, ofType, type SpiedEvent } from "./support/bus-spy.ts";
import { startPipeline, type Pipeline } from "./support/pipeline.ts";

const KINDS = [
  "This Agreement is made between the parties. The Tenant shall pay rent. The Landlord hereby grants the lease.",
  "INVOICE number 88. Amount due 120.00. Total due within 30 days. Payment terms net 30.",
  "Dear Sir, thank you for your letter. We will reply soon. Yours sincerely, the team.",
  "Plaintiff moves the Court to dismiss. The defendant filed a motion. Case No. 12-cv-1.",
];
const documents = (count: number, tag = "") =>
  Array.from({ length: count }, (_, i) => ({ text: `${KINDS[i % KINDS.length]} Document ${tag}${i}.` }));

interface Submitted {
  runId: string;
  jobIds: string[];
  inference: {
    mode: "onDemand" | "batch";
    why: string;
    fallbackAt?: string;
    options: { onDemand: { costUsd?: number }; batch: { available: boolean; costUsd?: number } };
  };
}
type Result = { inference?: string };
interface JobView {
  status: string;
  summary?: Result;
  classification?: Result;
}

const converseCalls = (pipeline: Pipeline) =>
  Object.values(pipeline.devcloud.bedrock.stats()).reduce((sum, s) => sum + s.calls, 0);

/** The batch jobs on devcloud's batch API, oldest first: their states. */
async function batchJobStates(pipeline: Pipeline): Promise<string[]> {
  const { invocationJobSummaries = [] } = await pipeline.clients.bedrockJobs.send(
    new ListModelInvocationJobsCommand({ sortOrder: "Ascending" }),
  );
  return invocationJobSummaries.map((job) => job.status!);
}

async function runJobs(pipeline: Pipeline, runId: string): Promise<JobView[]> {
  const jobs: JobView[] = [];
  let cursor: string | undefined;
  do {
    const page = (await (
      await pipeline.request(`/v1/runs/${runId}/jobs?limit=200${cursor ? `&cursor=${cursor}` : ""}`)
    ).json()) as { jobs: JobView[]; nextCursor?: string };
    jobs.push(...page.jobs);
    cursor = page.nextCursor;
  } while (cursor);
  return jobs;
}

/** Every event until the run completes, and a little longer, for a straggling duplicate to show itself. */
async function eventsOfRun(pipeline: Pipeline, total: number, timeoutMs: number): Promise<SpiedEvent[]> {
  const events = await collectEvents(
    pipeline,
    (seen) => ofType(seen, "Run Completed").length > 0 && ofType(seen, "Job Completed").length >= total,
    timeoutMs,
  );
  events.push(...(await collectEvents(pipeline, () => false, 1500)));
  return events;
}

describe("runs through Bedrock batch inference", () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.stop();
    pipeline = undefined;
  });

  it("a run sent with mode batch completes from its batch jobs: one Job Completed per job, one Run Completed, results priced as batch, the model called on demand only for what the batch refused", async () => {
    // One record in ten fails inside the batch: those stages must go on demand.
    pipeline = await startPipeline({ bedrock: { timeScale: 0.01, seed: 5, batch: { recordFailureRate: 0.1 } } });
    const response = await pipeline.request("/v1/runs", { json: { documents: documents(150), mode: "batch" } });
    expect(response.status).toBe(202);
    const submitted = (await response.json()) as Submitted;
    expect(submitted.inference).toMatchObject({ mode: "batch", options: { batch: { available: true } } });

    const events = await eventsOfRun(pipeline, 150, 90_000);
    const completed = ofType(events, "Job Completed").map((e) => e.detail.jobId);
    expect(completed).toHaveLength(150);
    expect(new Set(completed)).toEqual(new Set(submitted.jobIds));
    const runCompleted = ofType(events, "Run Completed");
    expect(runCompleted).toHaveLength(1);
    expect(runCompleted[0]!.detail).toMatchObject({ runId: submitted.runId, total: 150, completed: 150, failed: 0 });

    // Each stage's result came from the batch, but for the records it refused: those went on demand,
    // and they are the model calls made (each document is distinct).
    const jobs = await runJobs(pipeline, submitted.runId);
    const results = jobs.flatMap((job) => [job.summary!, job.classification!]);
    const onDemand = results.filter((result) => result.inference === undefined).length;
    expect(results.filter((result) => result.inference === "batch").length).toBe(300 - onDemand);
    expect(onDemand).toBeGreaterThan(5);
    expect(onDemand).toBeLessThan(60);
    expect(converseCalls(pipeline)).toBe(onDemand);
    // The batch jobs the batcher started, on devcloud's batch API: one per stage.
    expect(await batchJobStates(pipeline)).toEqual(["Completed", "Completed"]);
    // The run says how it ran.
    const run = await pipeline.request(`/v1/runs/${submitted.runId}`);
    expect(await run.json()).toMatchObject({ inference: { mode: "batch" } });
  }, 120_000);

  it("the plan says which mode and why, and what each option costs: auto goes batch when the deadline leaves room, on demand for a small run, a tight deadline or a budget (mode batch with a budget is refused)", async () => {
    pipeline = await startPipeline({
      workers: false,
      env: { QUIRE_BEDROCK_RPM: "600", QUIRE_BEDROCK_LATENCY_MS: "1000", QUIRE_BATCH_TURNAROUND_SECONDS: "3600" },
    });
    const plan = async (body: Record<string, unknown>) => {
      const response = await pipeline!.request("/v1/runs", { json: body });
      expect(response.status).toBe(202);
      return ((await response.json()) as Submitted).inference;
    };
    // 200 documents at 600 calls/min: about 40 s on demand. A day leaves room for an hour's batch and the fallback.
    const roomy = await plan({ documents: documents(200), deadline: "PT24H" });
    expect(roomy).toMatchObject({ mode: "batch" });
    expect(roomy.why).toContain("half the price");
    expect(Date.parse(roomy.fallbackAt!)).toBeGreaterThan(Date.now() + 22 * 3600_000);
    // Batch costs half of on demand at the default price table.
    expect(roomy.options.batch.costUsd!).toBeCloseTo(roomy.options.onDemand.costUsd! / 2, 5);

    const tight = await plan({ documents: documents(200), deadline: "PT30M" });
    expect(tight.mode).toBe("onDemand");
    expect(tight.why).toContain("leaves no room for a batch");

    const small = await plan({ documents: documents(20), deadline: "PT24H" });
    expect(small.mode).toBe("onDemand");
    expect(small.why).toContain("at least 100 records");

    expect((await plan({ documents: documents(200) })).mode).toBe("onDemand");
    expect((await plan({ documents: documents(200), deadline: "PT24H", mode: "onDemand" })).mode).toBe("onDemand");

    // A budget is checked before each on-demand call; a batch job is bought whole: on demand.
    const budgeted = await plan({ documents: documents(200), deadline: "PT24H", budget: { usd: 5 } });
    expect(budgeted.mode).toBe("onDemand");
    expect(budgeted.why).toContain("budget");
    const refused = await pipeline.request("/v1/runs", {
      json: { documents: documents(200), mode: "batch", budget: { tokens: 100_000 } },
    });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({
      error: { code: "BATCH_NOT_AVAILABLE", message: expect.stringContaining("budget") },
    });
  });

  it("mode batch where batch inference is not set up is refused with BATCH_NOT_AVAILABLE", async () => {
    pipeline = await startPipeline({ workers: false, env: { QUIRE_BATCH_ROLE_ARN: "" } });
    const response = await pipeline.request("/v1/runs", { json: { documents: documents(120), mode: "batch" } });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("BATCH_NOT_AVAILABLE");
  });

  it("a batch still running at the run's fallback time is stopped, and the run completes on demand before its deadline", async () => {
    // Batch jobs wait 20 minutes for capacity: far past this run's deadline.
    pipeline = await startPipeline({
      bedrock: { timeScale: 0.01, batch: { scheduledSeconds: 120_000 } },
      env: { QUIRE_BEDROCK_RPM: "6000", QUIRE_BEDROCK_LATENCY_MS: "100" },
    });
    const started = Date.now();
    const response = await pipeline.request("/v1/runs", {
      json: { documents: documents(100), mode: "batch", deadline: "PT75S" },
    });
    expect(response.status).toBe(202);
    const submitted = (await response.json()) as Submitted;
    expect(submitted.inference.mode).toBe("batch");
    expect(Date.parse(submitted.inference.fallbackAt!)).toBeLessThan(started + 20_000);

    const events = await eventsOfRun(pipeline, 100, 70_000);
    expect(ofType(events, "Job Completed")).toHaveLength(100);
    expect(ofType(events, "Run Completed")).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(75_000);
    // The batch was stopped before it answered anything: every result is on demand.
    expect(await batchJobStates(pipeline)).toEqual(["Stopped", "Stopped"]);
    const jobs = await runJobs(pipeline, submitted.runId);
    expect(jobs.every((job) => job.summary!.inference === undefined && job.status === "complete")).toBe(true);
    expect(converseCalls(pipeline)).toBe(200);
  }, 120_000);
});
