import { describe, expect, it } from "vitest";
import {
  StaleEventError,
  UnverifiedEventError,
  verifiedDetail,
  type OutcomeRecords,
  type VerifiableJob,
  type VerifiableRun,
} from "../src/index.ts";

const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
const job: VerifiableJob = {
  jobId: "job_0123456789AB",
  status: "complete",
  title: "Lease",
  metadata: { client: "northwind" },
  submittedAt: "2026-12-01T10:00:00.000Z",
  completedAt: "2026-12-01T10:00:05.000Z",
  stageStates: {
    summary: { result: { text: "The tenant pays rent monthly.", modelId: "m", promptVersion: "s1", usage } },
    classification: { result: { label: "contract", confidence: 0.9, modelId: "m", promptVersion: "c1", usage } },
  },
};
/** The job store, reduced to the two reads verification makes (a narrow unit: the e2e spec uses the real one). */
const records = (jobs: VerifiableJob[], runs: VerifiableRun[] = []): OutcomeRecords => ({
  getJob: async (jobId) => jobs.find((candidate) => candidate.jobId === jobId),
  getRun: async (runId) => runs.find((candidate) => candidate.runId === runId),
});
const claimed = (overrides: Record<string, unknown> = {}) => ({
  schemaVersion: 1,
  jobId: job.jobId,
  title: "Urgent",
  summary: { text: "Wire 10,000 EUR.", modelId: "x", promptVersion: "x", usage },
  classification: { label: "invoice", confidence: 1, modelId: "x", promptVersion: "x", usage },
  submittedAt: "2020-01-01T00:00:00.000Z",
  completedAt: "2020-01-01T00:00:00.000Z",
  ...overrides,
});

describe("verifiedDetail", () => {
  it("rebuilds a Job Completed from the stored job: results, title, metadata and times are the store's, not the event's", async () => {
    const detail = await verifiedDetail("Job Completed", claimed(), records([job]));
    expect(detail).toMatchObject({
      jobId: job.jobId,
      title: "Lease",
      metadata: { client: "northwind" },
      summary: { text: "The tenant pays rent monthly." },
      classification: { label: "contract" },
      completedAt: job.completedAt,
    });
  });

  it("refuses a completion for a job that does not exist, or is not complete", async () => {
    await expect(
      verifiedDetail("Job Completed", claimed({ jobId: "job_NOPE000000" }), records([job])),
    ).rejects.toBeInstanceOf(UnverifiedEventError);
    await expect(
      verifiedDetail("Job Completed", claimed(), records([{ ...job, status: "processing" }])),
    ).rejects.toThrow(/is processing/);
  });

  it("takes a Job Failed's reason and stage from the stored failure", async () => {
    const failed = {
      ...job,
      status: "failed",
      failedAt: "2026-12-01T10:00:03.000Z",
      failedStage: "summary",
      error: { code: "MODEL_OUTPUT_INVALID", message: "not JSON" },
    };
    const detail = await verifiedDetail(
      "Job Failed",
      {
        schemaVersion: 1,
        jobId: job.jobId,
        reason: { code: "X_FORGED", message: "x" },
        failedAt: "2020-01-01T00:00:00.000Z",
      },
      records([failed]),
    );
    expect(detail).toMatchObject({
      reason: { code: "MODEL_OUTPUT_INVALID" },
      stage: "summary",
      failedAt: failed.failedAt,
    });
  });

  it("a Job Failed for a job a redrive reopened since is stale, not forged: nothing to announce, nothing to dead-letter", async () => {
    const failure = {
      schemaVersion: 1,
      jobId: job.jobId,
      reason: { code: "X", message: "x" },
      failedAt: job.submittedAt,
    };
    const reopened = { ...job, status: "processing", reopenedAt: "2026-12-01T10:00:04.000Z" };
    await expect(verifiedDetail("Job Failed", failure, records([reopened]))).rejects.toBeInstanceOf(StaleEventError);
    // Never reopened: the store never held that failure.
    await expect(verifiedDetail("Job Failed", failure, records([{ ...job, status: "processing" }]))).rejects.toSatisfy(
      (error) => error instanceof UnverifiedEventError && !(error instanceof StaleEventError),
    );
  });

  it("a Run Completed for a run a redrive opened again is stale; one for an unfinished run never reopened is refused", async () => {
    const run: VerifiableRun = {
      runId: "run_0123456789ABCDEFGHJKMNPQRS",
      total: 2,
      complete: 0,
      failed: 1,
      countsByClassification: {},
      startedAt: job.submittedAt,
    };
    const event = { schemaVersion: 1, runId: run.runId };
    await expect(
      verifiedDetail("Run Completed", event, records([], [{ ...run, reopenedAt: "2026-12-01T10:00:06.000Z" }])),
    ).rejects.toBeInstanceOf(StaleEventError);
    await expect(verifiedDetail("Run Completed", event, records([], [run]))).rejects.toThrow(/is not finished/);
    // Finished again after the redrive: the event is announced with the counts the store holds now.
    const finished = {
      ...run,
      complete: 1,
      failed: 1,
      reopenedAt: "2026-12-01T10:00:06.000Z",
      completedAt: "2026-12-01T10:00:09.000Z",
    };
    await expect(verifiedDetail("Run Completed", event, records([], [finished]))).resolves.toMatchObject({
      completed: 1,
      failed: 1,
    });
  });
});
