import { describe, expect, it } from "vitest";
import { cli, fakeApi, send } from "./fake-api.ts";

const run9 = {
  runId: "run_9",
  status: "running",
  counts: { total: 10, pending: 5, processing: 2, complete: 3, failed: 0 },
  countsByClassification: { contract: 2, invoice: 1 },
  startedAt: "2026-11-23T10:00:00Z",
  throughput: { documentsPerSecond: 0.5 },
};

describe("quire status", () => {
  it("shows a job: status, classification, title and the first line of its summary", async () => {
    const api = await fakeApi({
      "GET /v1/jobs/job_9": send(200, {
        jobId: "job_9",
        status: "complete",
        title: "Lease",
        classification: { label: "contract" },
        summary: { text: "Rent is due monthly.\nMore." },
      }),
    });
    const { run, out } = cli(api.url);
    await run("status", "job_9");
    expect(out).toEqual(['job_9 complete contract "Lease" — Rent is due monthly.']);
  });

  it("shows a run: progress, throughput, counts and classifications", async () => {
    const api = await fakeApi({ "GET /v1/runs/run_9": send(200, run9) });
    const { run, out } = cli(api.url);
    await run("status", "run_9");
    expect(out).toEqual([
      "run_9  3/10 complete, 0 failed, 0.5 docs/s",
      "  running: 5 pending, 2 processing; started 2026-11-23T10:00:00Z",
      `  ${"contract".padEnd(20)} 2`,
      `  ${"invoice".padEnd(20)} 1`,
    ]);
  });

  it("--json prints the API's view", async () => {
    const api = await fakeApi({ "GET /v1/runs/run_9": send(200, run9) });
    const { run, out } = cli(api.url);
    await run("status", "run_9", "--json");
    expect(JSON.parse(out[0]!)).toEqual(run9);
  });

  it("refuses an id that is neither a job nor a run, before calling anything", async () => {
    const api = await fakeApi({});
    const { run } = cli(api.url);
    await expect(run("status", "sub_1")).rejects.toThrow("sub_1 is neither a job id (job_…) nor a run id (run_…)");
    expect(api.seen).toHaveLength(0);
  });

  it("surfaces a missing job's code", async () => {
    const api = await fakeApi({
      "GET /v1/jobs/job_0": send(404, { error: { code: "JOB_NOT_FOUND", message: "No job job_0." } }),
    });
    const { run } = cli(api.url);
    await expect(run("status", "job_0")).rejects.toMatchObject({ code: "JOB_NOT_FOUND" });
  });
});
