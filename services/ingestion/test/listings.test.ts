import { newRunId, type ClassificationResult, type SummaryResult } from "@quire/contracts";
import { createJobStore, type JobStore } from "@quire/jobs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobView, RunView } from "../src/app.ts";
import { errorOf, startIngestion, type Ingestion } from "./support/harness.ts";

let ingestion: Ingestion;
/** The same table the API reads: the specs move jobs through their stages as the stages would. */
let store: JobStore;
beforeAll(async () => {
  ingestion = await startIngestion();
  store = createJobStore({ client: ingestion.clients.dynamodb, tableName: ingestion.config.QUIRE_TABLE_JOBS_NAME });
});
afterAll(() => ingestion?.stop());

const usage = { inputTokens: 100, outputTokens: 20, totalTokens: 120 };
const summary: SummaryResult = { modelId: "model-a", promptVersion: "summary-v1", usage, text: "A summary." };
const classified = (label: string): ClassificationResult => ({
  modelId: "model-a",
  promptVersion: "classification-v1",
  usage,
  label,
  confidence: 0.9,
});

async function submitRun(titles: string[]): Promise<{ runId: string; jobIds: string[] }> {
  const response = await ingestion.request("/v1/runs", {
    json: { documents: titles.map((title, i) => ({ text: `Document ${i}: ${title}.`, title })) },
  });
  expect(response.status).toBe(202);
  return (await response.json()) as { runId: string; jobIds: string[] };
}

async function complete(jobId: string, label: string) {
  await store.startStage(jobId, "summary");
  await store.completeStage(jobId, "summary", summary);
  await store.startStage(jobId, "classification");
  await store.completeStage(jobId, "classification", classified(label));
}

const get = async <T>(path: string): Promise<T> => {
  const response = await ingestion.request(path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
};
type RunList = { runs: RunView[]; nextCursor?: string };
type JobList = { jobs: JobView[]; nextCursor?: string };

/** Every page from `path` (a listing), following nextCursor; each page as it came. */
async function allPages<T extends { nextCursor?: string }>(path: string): Promise<T[]> {
  const pages: T[] = [];
  let cursor: string | undefined;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const page = await get<T>(cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

describe("GET /v1/runs", () => {
  it("lists the most recent runs first, each as GET /v1/runs/{runId} shows it", async () => {
    const submitted = [];
    for (let i = 0; i < 3; i++) submitted.push((await submitRun([`run ${i}`])).runId);
    const { runs } = await get<RunList>("/v1/runs?limit=3");
    expect(runs.map((run) => run.runId)).toEqual([...submitted].reverse());
    expect(runs[0]).toMatchObject({
      runId: submitted[2],
      status: "running",
      counts: { total: 1, pending: 1, processing: 0, complete: 0, failed: 0 },
      links: { self: `/v1/runs/${submitted[2]}` },
    });
  });

  it("pages through every run with nextCursor, newest first, none twice, the last page without one", async () => {
    for (let i = 0; i < 5; i++) await submitRun([`paged ${i}`]);
    const pages = await allPages<RunList>("/v1/runs?limit=2");
    const runIds = pages.flatMap((page) => page.runs.map((run) => run.runId));
    expect(pages.slice(0, -1).every((page) => page.runs.length === 2 && page.nextCursor)).toBe(true);
    expect(pages.at(-1)!.nextCursor).toBeUndefined();
    expect(runIds).toEqual([...runIds].sort().reverse());
    expect(new Set(runIds).size).toBe(runIds.length);
    expect(runIds.length).toBeGreaterThanOrEqual(8);
  });

  it("answers 20 runs a page by default", async () => {
    for (let i = 0; i < 21; i++)
      await store.createRun({ runId: newRunId(), total: 1, submittedAt: new Date().toISOString() });
    const page = await get<RunList>("/v1/runs");
    expect(page.runs).toHaveLength(20);
    expect(page.nextCursor).toBeDefined();
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=ten", "limit"],
    ["cursor=not-a-cursor", "cursor"],
  ])("refuses ?%s: 400 VALIDATION_FAILED naming the parameter", async (query, path) => {
    const response = await ingestion.request(`/v1/runs?${query}`);
    const body = (await response.json()) as { error: { code: string; details: { path: string }[] } };
    expect(response.status).toBe(400);
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details.map((detail) => detail.path)).toEqual([path]);
  });

  it("refuses a cursor from a run's jobs listing: 400, not another listing's page", async () => {
    const { runId } = await submitRun(["a", "b"]);
    const { nextCursor } = await get<JobList>(`/v1/runs/${runId}/jobs?limit=1`);
    const answer = await errorOf(await ingestion.request(`/v1/runs?cursor=${encodeURIComponent(nextCursor!)}`));
    expect(answer).toMatchObject({ status: 400, code: "VALIDATION_FAILED" });
  });
});

describe("GET /v1/runs/{runId}/jobs", () => {
  /** A run of seven: two complete invoices, a complete letter, a failed job, one in a stage, two pending. */
  async function runOfSeven() {
    const titles = ["March invoice", "April invoice", "Letter", "Broken", "Started", "Waiting", "Also waiting"];
    const { runId, jobIds } = await submitRun(titles);
    const [march, april, letter, broken, started] = jobIds as [string, string, string, string, string];
    await complete(march, "invoice");
    await complete(april, "invoice");
    await complete(letter, "letter");
    await store.startStage(broken, "summary");
    await store.failJob(broken, { code: "MODEL_OUTPUT_INVALID", message: "no JSON" }, "summary");
    await store.startStage(started, "classification");
    return { runId, jobIds };
  }

  it("pages through a run's jobs in the order of its documents: exactly its jobs, each as GET /v1/jobs/{jobId} shows it", async () => {
    const { runId, jobIds } = await runOfSeven();
    const pages = await allPages<JobList>(`/v1/runs/${runId}/jobs?limit=3`);
    expect(pages.map((page) => page.jobs.length)).toEqual([3, 3, 1]);
    const listed = pages.flatMap((page) => page.jobs);
    expect(listed.map((job) => job.jobId)).toEqual(jobIds);
    for (const job of listed) expect(job).toEqual(await get<JobView>(`/v1/jobs/${job.jobId}`));
  });

  it("answers 50 jobs a page by default", async () => {
    const { runId } = await submitRun(Array.from({ length: 51 }, (_, i) => `doc ${i}`));
    const page = await get<JobList>(`/v1/runs/${runId}/jobs`);
    expect(page.jobs).toHaveLength(50);
    expect(page.nextCursor).toBeDefined();
  });

  it("filters by status, by classification label and by title (a case-sensitive substring), together or apart", async () => {
    const { runId, jobIds } = await runOfSeven();
    const titles = async (query: string) =>
      (await allPages<JobList>(`/v1/runs/${runId}/jobs?limit=2&${query}`)).flatMap((page) =>
        page.jobs.map((job) => job.title),
      );
    expect(await titles("status=complete")).toEqual(["March invoice", "April invoice", "Letter"]);
    expect(await titles("status=failed")).toEqual(["Broken"]);
    expect(await titles("status=processing")).toEqual(["Started"]);
    expect(await titles("status=pending")).toEqual(["Waiting", "Also waiting"]);
    expect(await titles("classification=invoice")).toEqual(["March invoice", "April invoice"]);
    expect(await titles("title=invoice")).toEqual(["March invoice", "April invoice"]);
    expect(await titles("title=Invoice")).toEqual([]);
    expect(await titles("title=waiting&status=pending")).toEqual(["Also waiting"]);
    expect(jobIds).toHaveLength(7);
  });

  it("keeps pages exact under a filter: a page may be empty and still name the next", async () => {
    const { runId } = await runOfSeven();
    const pages = await allPages<JobList>(`/v1/runs/${runId}/jobs?limit=1&status=failed`);
    // One job read per page, whatever the filter keeps: the failed job on the fourth of seven.
    // (A page that reads its last job cannot know it was the last: an empty page may end it.)
    expect(pages.slice(0, 7).map((page) => page.jobs.length)).toEqual([0, 0, 0, 1, 0, 0, 0]);
    expect(pages.slice(7)).toEqual(pages.length === 8 ? [{ jobs: [] }] : []);
  });

  it("is 404 RUN_NOT_FOUND for a run that does not exist, or an id that is not a run's", async () => {
    for (const id of [newRunId(), "run_nope", "job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7"]) {
      const answer = await errorOf(await ingestion.request(`/v1/runs/${id}/jobs`));
      expect(answer, id).toMatchObject({ status: 404, code: "RUN_NOT_FOUND" });
    }
  });

  it("refuses an unknown status, a limit over 200, and a cursor from another run: 400 VALIDATION_FAILED", async () => {
    const { runId } = await submitRun(["one", "two"]);
    const other = await submitRun(["three", "four"]);
    const { nextCursor } = await get<JobList>(`/v1/runs/${other.runId}/jobs?limit=1`);
    for (const query of ["status=done", "limit=201", "title=", `cursor=${encodeURIComponent(nextCursor!)}`]) {
      const answer = await errorOf(await ingestion.request(`/v1/runs/${runId}/jobs?${query}`));
      expect(answer, query).toMatchObject({ status: 400, code: "VALIDATION_FAILED" });
    }
  });
});

describe("the job view a console's job page reads", () => {
  it("has each stage's start and completion, and whether Job Completed went out", async () => {
    const {
      jobIds: [jobId],
    } = await submitRun(["one"]);
    const pending = await get<JobView>(`/v1/jobs/${jobId}`);
    expect(pending.stages.summary).toEqual({ status: "pending", attempts: 0 });
    expect(pending.completionPublished).toBe(false);

    await complete(jobId!, "invoice");
    const done = await get<JobView>(`/v1/jobs/${jobId}`);
    for (const stage of ["summary", "classification"] as const) {
      const { startedAt, completedAt } = done.stages[stage];
      expect(Date.parse(startedAt!), stage).toBeLessThanOrEqual(Date.parse(completedAt!));
    }
    expect(done.completedAt).toBe(done.stages.classification.completedAt);
    expect(done.completionPublished).toBe(false);

    await store.markCompletionPublished(jobId!);
    expect((await get<JobView>(`/v1/jobs/${jobId}`)).completionPublished).toBe(true);
  });

  it("names the stage that failed the job", async () => {
    const {
      jobIds: [jobId],
    } = await submitRun(["one"]);
    await store.startStage(jobId!, "classification");
    await store.failJob(jobId!, { code: "MODEL_OUTPUT_INVALID", message: "no JSON" }, "classification");
    const failed = await get<JobView>(`/v1/jobs/${jobId}`);
    expect(failed).toMatchObject({
      status: "failed",
      failedStage: "classification",
      error: { code: "MODEL_OUTPUT_INVALID" },
      completionPublished: false,
    });
    expect(failed.stages.classification.startedAt).toBeDefined();
    expect(failed.stages.classification.completedAt).toBeUndefined();
  });
});
