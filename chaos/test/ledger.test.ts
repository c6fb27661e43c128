import { describe, expect, it } from "vitest";
import { computeLedger, type JobOutcome, type SpiedEvent } from "../src/ledger.ts";
import { summaryLine, totalsOf } from "../src/report.ts";

let n = 0;
const T0 = Date.parse("2026-12-02T10:00:00Z");
const event = (type: string, detail: Record<string, unknown>, at = T0, source = "quire.summarizer"): SpiedEvent => ({
  id: `evt-${n++}`,
  "detail-type": type,
  source,
  time: new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z"),
  detail,
});
const healthy = [{ name: "summarizer-1", ok: true, status: 200 as const }];
const complete = (jobId: string): JobOutcome => ({ jobId, runId: "run_1", status: "complete" });

describe("the chaos ledger", () => {
  it("balances when every job completed once, was announced once, and its run once", () => {
    const ledger = computeLedger({
      jobs: [complete("job_1"), complete("job_2")],
      runIds: ["run_1"],
      events: [
        event("Job Completed", { jobId: "job_1" }),
        event("Job Completed", { jobId: "job_2" }),
        event("Run Completed", { runId: "run_1" }),
      ],
      leftInWorkQueues: 0,
      health: healthy,
    });
    expect(ledger).toMatchObject({
      ok: true,
      submitted: 2,
      complete: 2,
      lost: 0,
      duplicated: 0,
      stuck: 0,
      transientFailures: 0,
    });
  });

  it("counts a second Job Completed, a second Run Completed of a run not redriven, a job never terminal, an unannounced outcome and a transient failure", () => {
    const ledger = computeLedger({
      jobs: [
        complete("job_1"),
        { jobId: "job_2", status: "processing" },
        { jobId: "job_3", status: "failed", code: "RETRY_BUDGET_EXHAUSTED" },
        complete("job_4"),
      ],
      runIds: ["run_1"],
      events: [
        event("Job Completed", { jobId: "job_1" }),
        event("Job Completed", { jobId: "job_1" }),
        event("Job Failed", { jobId: "job_3" }),
        event("Run Completed", { runId: "run_1" }),
        event("Run Completed", { runId: "run_1" }),
      ],
      leftInWorkQueues: 2,
      health: [...healthy, { name: "notifier", ok: false, status: "down" }],
    });
    expect(ledger).toMatchObject({
      ok: false,
      submitted: 4,
      complete: 2,
      lost: 1,
      duplicated: 2,
      transientFailures: 1,
      stuck: 3,
      unhealthy: ["notifier (down)"],
    });
  });

  describe("a second copy of an announcement", () => {
    const lease = 30_000;
    const killed = (service: string, at: number) => ({ name: `${service}-1`, service, signal: "SIGKILL" as const, at });
    const twice = (secondAt: number, source = "quire.classifier") => [
      event("Job Completed", { jobId: "job_1" }, T0 + 400, "quire.classifier"),
      event("Job Completed", { jobId: "job_1" }, secondAt, source),
      event("Run Completed", { runId: "run_1" }, T0 + 400, "quire.classifier"),
    ];
    const ledgerOf = (events: SpiedEvent[], deaths: ReturnType<typeof killed>[]) =>
      computeLedger({
        jobs: [complete("job_1")],
        runIds: ["run_1"],
        events,
        leftInWorkQueues: 0,
        health: healthy,
        deaths,
        announceLeaseMs: lease,
      });

    it("is a re-announcement, not a duplicate, when its publisher died just after the first and the next came a lease later", () => {
      expect(ledgerOf(twice(T0 + 31_000), [killed("classifier", T0 + 700)])).toMatchObject({
        ok: true,
        duplicated: 0,
        reannounced: 1,
      });
    });

    it("is duplicated when no process of the publishing service died then", () => {
      expect(ledgerOf(twice(T0 + 31_000), [])).toMatchObject({ ok: false, duplicated: 1, reannounced: 0 });
      expect(ledgerOf(twice(T0 + 31_000), [killed("summarizer", T0 + 700)])).toMatchObject({ duplicated: 1 });
      expect(ledgerOf(twice(T0 + 31_000), [killed("classifier", T0 + 20_000)])).toMatchObject({ duplicated: 1 });
    });

    it("is duplicated when it came sooner than a lease after the first (no takeover could have sent it)", () => {
      expect(ledgerOf(twice(T0 + 2_000), [killed("classifier", T0 + 700)])).toMatchObject({
        ok: false,
        duplicated: 1,
        reannounced: 0,
      });
    });

    it("explains one copy per death", () => {
      const thrice = [
        ...twice(T0 + 31_000),
        event("Job Completed", { jobId: "job_1" }, T0 + 62_000, "quire.classifier"),
      ];
      expect(ledgerOf(thrice, [killed("classifier", T0 + 700)])).toMatchObject({ duplicated: 1, reannounced: 1 });
    });
  });

  it("lets a redriven run announce again, and a job fail then complete; a permanent failure balances only where expected", () => {
    const events = [
      event("Job Failed", { jobId: "job_1" }),
      event("Run Completed", { runId: "run_1" }),
      event("Job Completed", { jobId: "job_1" }),
      event("Run Completed", { runId: "run_1" }),
      event("Job Failed", { jobId: "job_2" }),
    ];
    const jobs: JobOutcome[] = [complete("job_1"), { jobId: "job_2", status: "failed", code: "MODEL_OUTPUT_INVALID" }];
    const base = {
      jobs,
      runIds: ["run_1"],
      events,
      leftInWorkQueues: 0,
      health: healthy,
      redrivenRuns: new Set(["run_1"]),
    };
    expect(computeLedger({ ...base, allowPermanentFailures: true })).toMatchObject({
      ok: true,
      complete: 1,
      failedPermanent: 1,
      duplicated: 0,
    });
    expect(computeLedger(base).ok).toBe(false);
  });

  it("ends with the line issue 13 asks for", () => {
    const ok = computeLedger({ jobs: [], runIds: [], events: [], leftInWorkQueues: 0, health: healthy });
    const result = { name: "kill", description: "", seconds: 1, chaos: {}, logDir: "", ledger: ok };
    expect(summaryLine(totalsOf([result, result]))).toBe(
      "chaos: 2/2 scenarios, lost=0 duplicated=0 stuck=0 transient_failures=0",
    );
  });
});
