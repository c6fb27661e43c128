import { topology } from "@quire/topology";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPipeline, type Pipeline } from "./support/pipeline.ts";

/**
 * What a browser console reads from the ingestion API, on the whole pipeline: the runs, a run's
 * jobs page by page and filtered, a job's stage times and whether its completion went out, and
 * the queues' depths. Every answer is also checked against openapi.json (support/setup.ts).
 */
const KINDS = [
  "This Agreement is made between the parties. The Tenant shall pay rent. The Landlord hereby grants the lease.",
  "INVOICE number 88. Amount due 120.00. Total due within 30 days. Payment terms net 30.",
  "Dear Sir, thank you for your letter. We will reply soon. Yours sincerely, the team.",
];
const DOCUMENTS = 12;

type Stage = { status: string; attempts: number; startedAt?: string; completedAt?: string };
type Job = {
  jobId: string;
  runId?: string;
  status: string;
  title?: string;
  completedAt?: string;
  classification?: { label: string };
  completionPublished: boolean;
  stages: { summary: Stage; classification: Stage };
};
type JobPage = { jobs: Job[]; nextCursor?: string };
type Run = {
  runId: string;
  status: string;
  counts: Record<string, number>;
  countsByClassification: Record<string, number>;
};

let pipeline: Pipeline;
let runId: string;
let jobIds: string[];

const get = async <T>(path: string): Promise<T> => {
  const response = await pipeline.request(path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
};

/** Every job of the run under `query`, following nextCursor; the pages as they came. */
async function pagesOf(query: string): Promise<JobPage[]> {
  const pages: JobPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await get<JobPage>(
      `/v1/runs/${runId}/jobs?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

beforeAll(async () => {
  pipeline = await startPipeline({ bedrock: { timeScale: 0.01 } });
  const documents = Array.from({ length: DOCUMENTS }, (_, i) => ({
    text: `${KINDS[i % KINDS.length]} Document ${i}.`,
    title: `doc ${i}`,
  }));
  const response = await pipeline.request("/v1/runs", { json: { documents } });
  expect(response.status).toBe(202);
  ({ runId, jobIds } = (await response.json()) as { runId: string; jobIds: string[] });

  // Finished, and every Job Completed out: a run counts its last job just before that job's event goes.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const jobs = (await pagesOf("limit=200")).flatMap((page) => page.jobs);
    if (jobs.length === DOCUMENTS && jobs.every((job) => job.completionPublished)) break;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} did not finish: ${JSON.stringify(jobs.map((j) => j.status))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});
afterAll(() => pipeline?.stop());

describe("the ingestion API a console reads, on the whole pipeline", () => {
  it("GET /v1/runs lists the run just finished first, with its counts", async () => {
    const { runs } = await get<{ runs: Run[] }>("/v1/runs");
    expect(runs[0]).toMatchObject({
      runId,
      status: "complete",
      counts: { total: DOCUMENTS, pending: 0, processing: 0, complete: DOCUMENTS, failed: 0 },
    });
  });

  it("GET /v1/runs/{runId}/jobs pages through all 12 jobs five at a time, in the order of the documents", async () => {
    const pages = await pagesOf("limit=5");
    expect(pages.map((page) => page.jobs.length)).toEqual([5, 5, 2]);
    expect(pages.at(-1)!.nextCursor).toBeUndefined();
    expect(pages.flatMap((page) => page.jobs.map((job) => job.jobId))).toEqual(jobIds);
  });

  it("filters a run's jobs by status and by a classification label its counts name", async () => {
    const jobsOf = async (query: string) => (await pagesOf(`limit=5&${query}`)).flatMap((page) => page.jobs);
    expect((await jobsOf("status=complete")).map((job) => job.jobId)).toEqual(jobIds);
    expect(await jobsOf("status=failed")).toEqual([]);

    const run = await get<Run>(`/v1/runs/${runId}`);
    const [label, count] = Object.entries(run.countsByClassification)[0]!;
    const labelled = await jobsOf(`classification=${encodeURIComponent(label)}`);
    expect(labelled).toHaveLength(count);
    expect(labelled.every((job) => job.classification?.label === label)).toBe(true);
  });

  it("a job shows when each stage started and completed, and that Job Completed went out", async () => {
    const job = await get<Job>(`/v1/jobs/${jobIds[0]}`);
    expect(job).toMatchObject({ status: "complete", completionPublished: true });
    for (const stage of [job.stages.summary, job.stages.classification]) {
      expect(stage.status).toBe("done");
      expect(Date.parse(stage.startedAt!)).toBeLessThanOrEqual(Date.parse(stage.completedAt!));
    }
    expect(job.completedAt).toBe(
      [job.stages.summary.completedAt!, job.stages.classification.completedAt!].sort().at(-1),
    );
  });

  it("GET /v1/queues lists every queue of the topology with its consumer and numeric depths", async () => {
    const { queues } = await get<{ queues: Record<string, unknown>[] }>("/v1/queues");
    expect(queues.map((queue) => queue.name)).toEqual(Object.keys(topology.queues));
    for (const queue of queues) {
      expect(queue.consumer).toBe(topology.queues[queue.name as keyof typeof topology.queues].consumer);
      for (const count of ["visible", "inFlight", "delayed", "deadLetters"])
        expect(queue[count], `${queue.name}.${count}`).toEqual(expect.any(Number));
    }
  });
});
