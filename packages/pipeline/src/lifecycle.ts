import { SCHEMA_VERSION, type FailureReason, type StageName } from "@quire/contracts";
import type { Job, JobStore } from "@quire/jobs";
import type { QuireMetrics } from "@quire/telemetry";
import type { EventPublisher } from "./event-publisher.ts";

/**
 * The announcements that follow a job's terminal transition. Only the caller that won the
 * conditional write gets here, so `Job Completed` / `Job Failed` go out once per job, and the
 * run is told once per job, which is what makes `Run Completed` exactly-once.
 */
export function createJobLifecycle(deps: {
  jobs: JobStore;
  events: EventPublisher;
  /** Counts each job once, where it is announced (JobsCompleted / JobsFailed). */
  metrics?: Pick<QuireMetrics, "jobCompleted" | "jobFailed">;
  now?: () => Date;
}) {
  const now = () => (deps.now ? deps.now() : new Date()).toISOString();

  async function announceRunOutcome(job: Job, outcome: { status: "complete"; label: string } | { status: "failed" }) {
    if (!job.runId) return;
    // The jobId makes a re-announced outcome (after a crash) count once.
    const { runCompleted } = await deps.jobs.recordRunOutcome(job.runId, { ...outcome, jobId: job.jobId });
    if (!runCompleted) return;
    await deps.events.put("Run Completed", {
      schemaVersion: SCHEMA_VERSION,
      runId: runCompleted.runId,
      total: runCompleted.total,
      completed: runCompleted.complete,
      failed: runCompleted.failed,
      countsByClassification: runCompleted.countsByClassification,
      startedAt: runCompleted.startedAt,
      completedAt: runCompleted.completedAt ?? now(),
    });
    await deps.jobs.markRunCompletionPublished(runCompleted.runId);
  }

  return {
    /** For the stage whose write completed the job (or a redelivery that finds it unannounced). */
    async announceCompletion(job: Job): Promise<void> {
      const summary = job.stageStates.summary.result;
      const classification = job.stageStates.classification.result;
      if (!summary || !classification) throw new Error(`job ${job.jobId} is complete without both results`);
      await announceRunOutcome(job, { status: "complete", label: classification.label });
      await deps.events.put("Job Completed", {
        schemaVersion: SCHEMA_VERSION,
        jobId: job.jobId,
        ...(job.runId ? { runId: job.runId } : {}),
        ...(job.title !== undefined ? { title: job.title } : {}),
        ...(job.metadata !== undefined ? { metadata: job.metadata } : {}),
        summary,
        classification,
        submittedAt: job.submittedAt,
        completedAt: job.completedAt ?? now(),
      });
      await deps.jobs.markCompletionPublished(job.jobId);
      deps.metrics?.jobCompleted();
    },

    /** Fail the job (once) and announce it; a job already terminal is left as it is. */
    async failJob(jobId: string, reason: FailureReason, stage?: StageName): Promise<boolean> {
      const { failedNow, job } = await deps.jobs.failJob(jobId, reason, stage);
      if (!failedNow || !job) return false;
      await deps.events.put("Job Failed", {
        schemaVersion: SCHEMA_VERSION,
        jobId,
        ...(job.runId ? { runId: job.runId } : {}),
        ...(job.title !== undefined ? { title: job.title } : {}),
        ...(job.metadata !== undefined ? { metadata: job.metadata } : {}),
        ...(stage ? { stage } : {}),
        reason,
        failedAt: job.failedAt ?? now(),
      });
      await announceRunOutcome(job, { status: "failed" });
      deps.metrics?.jobFailed();
      return true;
    },
  };
}

export type JobLifecycle = ReturnType<typeof createJobLifecycle>;

/**
 * A consumer's `onDeadLetter`: a message the host gives up on fails its job with the same
 * reason the DLQ entry carries, and `Job Failed` goes out once (failJob is idempotent).
 */
export const failJobOnDeadLetter =
  (lifecycle: JobLifecycle, stage?: StageName) =>
  async (raw: unknown, reason: FailureReason): Promise<void> => {
    const jobId = (raw as { jobId?: unknown } | undefined)?.jobId;
    if (typeof jobId === "string" && jobId.startsWith("job_")) await lifecycle.failJob(jobId, reason, stage);
  };
