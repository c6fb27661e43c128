import { parseEventDetail, type FailureReason, type NotifiedDetailType } from "@quire/contracts";

/** What verification reads of a job and a run (the job store's shapes, structurally). */
export interface VerifiableJob {
  jobId: string;
  runId?: string | undefined;
  status: string;
  title?: string | undefined;
  metadata?: Record<string, string | number | boolean> | undefined;
  submittedAt: string;
  completedAt?: string | undefined;
  failedAt?: string | undefined;
  failedStage?: string | undefined;
  error?: FailureReason | undefined;
  stageStates: { summary: { result?: unknown }; classification: { result?: unknown } };
  /** When a redrive last took its failure back. */
  reopenedAt?: string | undefined;
}
export interface VerifiableRun {
  runId: string;
  total: number;
  complete: number;
  failed: number;
  countsByClassification: Record<string, number>;
  startedAt: string;
  completedAt?: string | undefined;
  /** When a redrive last took a failed outcome back out of it. */
  reopenedAt?: string | undefined;
}
export interface OutcomeRecords {
  getJob(jobId: string): Promise<VerifiableJob | undefined>;
  getRun(runId: string): Promise<VerifiableRun | undefined>;
}

/** The event names an outcome the job store does not hold, and never held as far as it knows: forged. */
export class UnverifiedEventError extends Error {
  override readonly name = "UnverifiedEventError";
  readonly code = "EVENT_NOT_VERIFIED";
}

/**
 * The event names an outcome the job store no longer holds because a redrive took it back (the
 * job or run was reopened since): true when it was put, superseded now. Nothing to announce — the
 * outcome that follows the redrive is announced when it comes — and nothing to dead-letter. (A
 * forger who names a reopened job or run gets the same: nothing delivered.)
 */
export class StaleEventError extends Error {
  override readonly name = "StaleEventError";
  readonly code = "EVENT_STALE";
}

/**
 * What the notifier announces comes from the job store, not from the event. The bus is a door
 * anyone with PutEvents can knock on; an event is only a reason to look: its job (or run) must
 * exist and be in the state the event claims, and the payload — results, reason, counts, title,
 * metadata — is rebuilt from the stored record, so a forged detail cannot put words in a
 * subscriber's webhook. Identity (jobId/runId) is the only thing taken from the event.
 */
export async function verifiedDetail(
  detailType: NotifiedDetailType,
  claimed: Record<string, unknown>,
  records: OutcomeRecords,
): Promise<Record<string, unknown>> {
  const base = { schemaVersion: claimed.schemaVersion };
  if (detailType === "Run Completed") {
    const runId = String(claimed.runId);
    const run = await records.getRun(runId);
    if (!run || run.complete + run.failed < run.total) {
      if (run?.reopenedAt !== undefined)
        throw new StaleEventError(`Run Completed for ${runId}, which a redrive opened again at ${run.reopenedAt}.`);
      throw new UnverifiedEventError(
        `Run Completed for ${runId}, which ${run ? "is not finished" : "does not exist"}.`,
      );
    }
    return parseEventDetail(detailType, {
      ...base,
      runId,
      total: run.total,
      completed: run.complete,
      failed: run.failed,
      countsByClassification: run.countsByClassification,
      startedAt: run.startedAt,
      completedAt: run.completedAt ?? claimed.completedAt,
    }) as Record<string, unknown>;
  }
  const jobId = String(claimed.jobId);
  const job = await records.getJob(jobId);
  const expected = detailType === "Job Completed" ? "complete" : "failed";
  if (!job || job.status !== expected) {
    if (job?.reopenedAt !== undefined)
      throw new StaleEventError(
        `${detailType} for ${jobId}, which a redrive reopened at ${job.reopenedAt} (now ${job.status}).`,
      );
    throw new UnverifiedEventError(`${detailType} for ${jobId}, which ${job ? `is ${job.status}` : "does not exist"}.`);
  }
  const identity = {
    ...base,
    jobId,
    ...(job.runId ? { runId: job.runId } : {}),
    ...(job.title !== undefined ? { title: job.title } : {}),
    ...(job.metadata !== undefined ? { metadata: job.metadata } : {}),
  };
  if (detailType === "Job Completed") {
    return parseEventDetail(detailType, {
      ...identity,
      summary: job.stageStates.summary.result,
      classification: job.stageStates.classification.result,
      submittedAt: job.submittedAt,
      completedAt: job.completedAt ?? claimed.completedAt,
    }) as Record<string, unknown>;
  }
  return parseEventDetail(detailType, {
    ...identity,
    ...(job.failedStage ? { stage: job.failedStage } : {}),
    reason: job.error ?? claimed.reason,
    failedAt: job.failedAt ?? claimed.failedAt,
  }) as Record<string, unknown>;
}
