import { SCHEMA_VERSION, type FailureReason, type StageName } from "@quire/contracts";
import { pricedUsage, type PriceTable } from "@quire/bedrock";
import { keptResults, type Job, type JobStore, type RunUsage } from "@quire/jobs";
import type { QuireMetrics } from "@quire/telemetry";
import type { EventPublisher } from "./event-publisher.ts";

/**
 * A delivery found an announcement it owes held by another caller (who may be publishing it
 * right now, or may have crashed): it must not be acknowledged before the event is out. A
 * transient failure; the hosts retry it after `retryAfterMs`, when it is published or the
 * lease has lapsed and this delivery takes it over (see @quire/jobs announcement.ts).
 */
export class AnnouncementPendingError extends Error {
  override readonly name = "AnnouncementPendingError";
  readonly retryAfterMs: number;

  constructor(event: string, id: string, retryAfterMs: number) {
    super(`"${event}" for ${id} is being announced by another delivery; this one waits until it is out`);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The announcements that follow a job's terminal transition: `Job Completed` / `Job Failed`,
 * and `Run Completed` from the job that finishes its run. Each goes out under a lease held by
 * one caller (see @quire/jobs announcement.ts): publish, then mark published; a failed publish
 * gives the lease back and throws, so the delivery is not acknowledged and its retry claims the
 * announcement again. Nothing is acknowledged before what it owes is on the bus.
 */
export function createJobLifecycle(deps: {
  jobs: JobStore;
  events: EventPublisher;
  /** Counts each job once, where it is announced (JobsCompleted / JobsFailed). */
  metrics?: Pick<QuireMetrics, "jobCompleted" | "jobFailed">;
  /** What each model's tokens cost: a job's usage is priced as its run counts it. Without it, usage is not counted. */
  prices?: PriceTable;
  now?: () => Date;
}) {
  const now = () => (deps.now ? deps.now() : new Date()).toISOString();

  /**
   * The job's usage as its run counts it: the tokens of the stage results it keeps (each result
   * says its model), priced stage by stage; no cost when a stage's model has no price.
   */
  function usageOf(job: Job): RunUsage | undefined {
    return deps.prices ? pricedUsage(keptResults(job), deps.prices) : undefined;
  }

  /** Publish under a lease: on failure, give the lease back (so a retry claims it at once) and rethrow. */
  async function publishHolding(release: () => Promise<void>, publish: () => Promise<unknown>): Promise<void> {
    try {
      await publish();
    } catch (error) {
      await release().catch(() => {
        // The lease lapses by itself; the retry only waits longer.
      });
      throw error;
    }
  }

  async function announceRunOutcome(job: Job, outcome: { status: "complete"; label: string } | { status: "failed" }) {
    if (!job.runId) return;
    // The jobId makes a re-announced outcome (after a crash) count once.
    const usage = usageOf(job);
    const recorded = await deps.jobs.recordRunOutcome(job.runId, {
      ...outcome,
      jobId: job.jobId,
      ...(usage ? { usage } : {}),
    });
    if (recorded.announcementHeldMs !== undefined)
      throw new AnnouncementPendingError("Run Completed", job.runId, recorded.announcementHeldMs);
    const { runCompleted, lease } = recorded;
    if (!runCompleted || !lease) return;
    await publishHolding(
      () => deps.jobs.releaseRunCompletion(runCompleted.runId, lease),
      () =>
        deps.events.put("Run Completed", {
          schemaVersion: SCHEMA_VERSION,
          runId: runCompleted.runId,
          total: runCompleted.total,
          completed: runCompleted.complete,
          failed: runCompleted.failed,
          countsByClassification: runCompleted.countsByClassification,
          startedAt: runCompleted.startedAt,
          completedAt: runCompleted.completedAt ?? now(),
          usage: {
            inputTokens: runCompleted.inputTokens,
            outputTokens: runCompleted.outputTokens,
            costUsd: runCompleted.costMicroUsd / 1e6,
            unpricedJobs: runCompleted.unpricedJobs,
          },
        }),
    );
    await deps.jobs.markRunCompletionPublished(runCompleted.runId);
  }

  return {
    /**
     * For the caller holding the completion's lease (`lease` from completeStage): the stage write
     * that completed the job, or a delivery that found it unannounced.
     */
    async announceCompletion(job: Job, lease: string): Promise<void> {
      const summary = job.stageStates.summary.result;
      const classification = job.stageStates.classification.result;
      if (!summary || !classification) throw new Error(`job ${job.jobId} is complete without both results`);
      await publishHolding(
        () => deps.jobs.releaseCompletion(job.jobId, lease),
        async () => {
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
        },
      );
      await deps.jobs.markCompletionPublished(job.jobId);
      deps.metrics?.jobCompleted();
    },

    /**
     * A failed job whose message was redriven goes back to work: its run un-counts the failure
     * first (a finished run opens again and will announce "Run Completed" anew), then the job is
     * reopened. Safe to repeat: each write is conditional, and the order means a crash between
     * them leaves the job failed, so the redelivery does both again.
     */
    async reopenForRedrive(job: Job): Promise<void> {
      if (job.runId) await deps.jobs.reopenRunOutcome(job.runId, job.jobId, usageOf(job));
      await deps.jobs.reopenJob(job.jobId);
    },

    /**
     * Fail the job (once) and announce it; a job already complete is left as it is. True when
     * this call announced the failure. Throws AnnouncementPendingError while another caller is
     * announcing it, and the publish error when publishing fails (the caller must not let its
     * message go: the failure is retried, and announced, by its redelivery).
     */
    async failJob(jobId: string, reason: FailureReason, stage?: StageName): Promise<boolean> {
      const failed = await deps.jobs.failJob(jobId, reason, stage);
      if (failed.announcementHeldMs !== undefined)
        throw new AnnouncementPendingError("Job Failed", jobId, failed.announcementHeldMs);
      const { job, lease } = failed;
      if (!job || !lease) return false;
      const error = job.error ?? reason;
      await publishHolding(
        () => deps.jobs.releaseFailure(jobId, lease),
        async () => {
          await deps.events.put("Job Failed", {
            schemaVersion: SCHEMA_VERSION,
            jobId,
            ...(job.runId ? { runId: job.runId } : {}),
            ...(job.title !== undefined ? { title: job.title } : {}),
            ...(job.metadata !== undefined ? { metadata: job.metadata } : {}),
            ...((job.failedStage ?? stage) ? { stage: job.failedStage ?? stage } : {}),
            reason: error,
            failedAt: job.failedAt ?? now(),
          });
          await announceRunOutcome(job, { status: "failed" });
        },
      );
      await deps.jobs.markFailurePublished(jobId);
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
