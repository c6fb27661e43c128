import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, fakeApi, send, sequence, tmp } from "./fake-api.ts";

const completeJob = (jobId: string, title: string, label: string, summary: string) => ({
  jobId,
  status: "complete",
  title,
  submittedAt: "2026-11-23T10:00:00Z",
  completedAt: "2026-11-23T10:00:03Z",
  classification: { label, confidence: 0.9 },
  summary: { text: summary },
  stages: {},
  links: { self: `/v1/jobs/${jobId}` },
});
const runView = (
  status: "running" | "complete",
  complete: number,
  failed = 0,
  extra: Record<string, unknown> = {},
) => ({
  runId: "run_1",
  status,
  counts: { total: 4, pending: 4 - complete - failed, processing: 0, complete, failed },
  countsByClassification: status === "complete" ? { invoice: 1, contract: 3 } : {},
  startedAt: "2026-11-23T10:00:00Z",
  throughput: { documentsPerSecond: 1.25 },
  links: { self: "/v1/runs/run_1" },
  ...extra,
});

describe("quire submit", () => {
  it("posts a text file as a document titled by its file name and prints a line per job", async () => {
    const api = await fakeApi({
      "POST /v1/documents": send(202, {
        jobId: "job_1",
        status: "pending",
        title: "note.txt",
        links: { self: "/v1/jobs/job_1" },
      }),
    });
    const dir = tmp();
    writeFileSync(join(dir, "note.txt"), "Some text.\nMore.");
    const { run, out, exitCode } = cli(api.url);
    await run("submit", join(dir, "note.txt"));
    expect(api.seen).toEqual([
      { method: "POST", path: "/v1/documents", body: { text: "Some text.\nMore.", title: "note.txt" } },
    ]);
    expect(out).toEqual(['job_1 pending "note.txt"']);
    expect(exitCode()).toBe(0);
  });

  it("posts each document of a .json file as it is written, metadata included", async () => {
    const api = await fakeApi({
      "POST /v1/documents": sequence(202, [
        { jobId: "job_1", status: "pending", title: "Lease" },
        { jobId: "job_2", status: "pending" },
      ]),
    });
    const dir = tmp();
    writeFileSync(
      join(dir, "docs.json"),
      JSON.stringify([{ text: "A lease.", title: "Lease", metadata: { client: "acme" } }, { text: "An invoice." }]),
    );
    const { run, out } = cli(api.url);
    await run("submit", join(dir, "docs.json"));
    expect(api.seen.map((r) => r.body)).toEqual([
      { text: "A lease.", title: "Lease", metadata: { client: "acme" } },
      { text: "An invoice." },
    ]);
    expect(out).toEqual(['job_1 pending "Lease"', "job_2 pending"]);
  });

  it("--wait asks the API to wait 30 s, then polls the job until it is done and prints its result", async () => {
    const api = await fakeApi({
      "POST /v1/documents": send(202, { jobId: "job_1", status: "processing", title: "Lease" }),
      "GET /v1/jobs/job_1": sequence(200, [
        { jobId: "job_1", status: "processing" },
        completeJob("job_1", "Lease", "contract", "Rent is due monthly.\nSecond line."),
      ]),
    });
    const dir = tmp();
    writeFileSync(join(dir, "lease.json"), JSON.stringify({ text: "A lease.", title: "Lease" }));
    const { run, out } = cli(api.url);
    await run("submit", join(dir, "lease.json"), "--wait", "--interval", "1");
    expect(api.seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /v1/documents?wait=30",
      "GET /v1/jobs/job_1",
      "GET /v1/jobs/job_1",
    ]);
    expect(out).toEqual(['job_1 complete contract "Lease" — Rent is due monthly.']);
  });

  it("exits 1 when a job failed, printing its error", async () => {
    const api = await fakeApi({
      "POST /v1/documents": send(200, {
        jobId: "job_1",
        status: "failed",
        title: "x.txt",
        error: { code: "DOCUMENT_TOO_LARGE", message: "Over 1 MiB." },
      }),
    });
    const dir = tmp();
    writeFileSync(join(dir, "x.txt"), "x");
    const { run, out, exitCode } = cli(api.url);
    await run("submit", join(dir, "x.txt"), "--wait");
    expect(out).toEqual(['job_1 failed DOCUMENT_TOO_LARGE "x.txt" — Over 1 MiB.']);
    expect(exitCode()).toBe(1);
  });

  it("--json prints each job as the API returned it", async () => {
    const job = { jobId: "job_1", status: "pending" };
    const api = await fakeApi({ "POST /v1/documents": send(202, job) });
    const dir = tmp();
    writeFileSync(join(dir, "a.txt"), "a");
    const { run, out } = cli(api.url);
    await run("submit", join(dir, "a.txt"), "--json");
    expect(out.map((l) => JSON.parse(l))).toEqual([job]);
  });

  it("--run posts every document as one run with its deadline, and prints the run id and the plan", async () => {
    const api = await fakeApi({
      "POST /v1/runs": send(202, {
        runId: "run_1",
        total: 3,
        jobIds: ["job_1", "job_2", "job_3"],
        links: { self: "/v1/runs/run_1" },
        deadline: "2026-11-23T11:00:00Z",
        estimatedCompletionAt: "2026-11-23T10:40:00Z",
      }),
    });
    const dir = tmp();
    writeFileSync(join(dir, "docs.json"), JSON.stringify([{ text: "A." }, { text: "B.", metadata: { batch: "7" } }]));
    writeFileSync(join(dir, "c.md"), "# C");
    const { run, out } = cli(api.url);
    await run("submit", join(dir, "docs.json"), join(dir, "c.md"), "--run", "--deadline", "PT60M");
    expect(api.seen).toEqual([
      {
        method: "POST",
        path: "/v1/runs",
        body: {
          documents: [{ text: "A." }, { text: "B.", metadata: { batch: "7" } }, { text: "# C", title: "c.md" }],
          deadline: "PT60M",
        },
      },
    ]);
    expect(out).toEqual([
      "run_1: 3 documents submitted",
      "  deadline: 2026-11-23T11:00:00Z",
      "  estimatedCompletionAt: 2026-11-23T10:40:00Z",
    ]);
  });

  it("--run --wait polls the run until it is complete, printing progress lines, then counts per classification", async () => {
    const api = await fakeApi({
      "POST /v1/runs": send(202, { runId: "run_1", total: 4, jobIds: ["job_1", "job_2", "job_3", "job_4"] }),
      "GET /v1/runs/run_1": sequence(200, [
        runView("running", 0),
        runView("running", 0),
        runView("running", 2, 0, { eta: "2026-11-23T10:00:05Z" }),
        runView("complete", 4),
      ]),
    });
    const dir = tmp();
    writeFileSync(
      join(dir, "docs.json"),
      JSON.stringify([{ text: "A." }, { text: "B." }, { text: "C." }, { text: "D." }]),
    );
    const { run, out, exitCode } = cli(api.url);
    await run("submit", join(dir, "docs.json"), "--run", "--wait", "--interval", "1");
    expect(api.seen.filter((r) => r.path === "/v1/runs/run_1")).toHaveLength(4);
    const eta = new Date("2026-11-23T10:00:05Z").toLocaleTimeString("en-GB", { hour12: false });
    expect(out).toEqual([
      "run_1: 4 documents submitted",
      "run_1  0/4 complete, 0 failed, 1.3 docs/s", // an unchanged poll prints nothing
      `run_1  2/4 complete, 0 failed, 1.3 docs/s, ETA ${eta}`,
      "run_1  4/4 complete, 0 failed, 1.3 docs/s",
      `  ${"contract".padEnd(20)} 3`,
      `  ${"invoice".padEnd(20)} 1`,
    ]);
    expect(exitCode()).toBe(0);
  });

  it("--run --wait exits 1 when some of the run's jobs failed", async () => {
    const api = await fakeApi({
      "POST /v1/runs": send(202, { runId: "run_1", total: 4, jobIds: ["job_1", "job_2", "job_3", "job_4"] }),
      "GET /v1/runs/run_1": send(200, runView("complete", 3, 1)),
    });
    const dir = tmp();
    writeFileSync(join(dir, "a.txt"), "a");
    const { run, out, exitCode } = cli(api.url);
    await run("submit", join(dir, "a.txt"), "--run", "--wait", "--interval", "1");
    expect(out).toContain("run_1  3/4 complete, 1 failed, 1.3 docs/s");
    expect(exitCode()).toBe(1);
  });

  it("surfaces the API's error code and message", async () => {
    const api = await fakeApi({
      "POST /v1/runs": send(400, {
        error: { code: "VALIDATION_FAILED", message: "deadline must be an ISO 8601 duration" },
      }),
    });
    const dir = tmp();
    writeFileSync(join(dir, "a.txt"), "a");
    const { run } = cli(api.url);
    await expect(run("submit", join(dir, "a.txt"), "--run", "--deadline", "soon")).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      message: "deadline must be an ISO 8601 duration",
    });
  });
});
