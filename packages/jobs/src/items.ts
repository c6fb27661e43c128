import type { StageName } from "@quire/contracts";
import { jobSchema, runSchema, type Job, type JobStatus, type Run } from "./schema.ts";

/**
 * Stored items carry bookkeeping the public shapes do not: keys, counters that conditions
 * test, leases. Status and completion times are derived here from those facts rather than
 * stored beside them, so there is one truth and a single conditional write can complete a
 * job or a run (DynamoDB cannot set an attribute "only if the counter reaches zero").
 */

type StoredStageState = { status: string; attempts: number; completedAt?: string };

/** A job is complete when its `remainingStages` counter reaches 0, failed once `failedAt` is set. */
export function toJob(item: Record<string, unknown>): Job {
  const stages = item.stages as StageName[];
  const states = item.stageStates as Record<StageName, StoredStageState>;
  const failed = typeof item.failedAt === "string";
  const complete = !failed && item.remainingStages === 0;
  const started = stages.some((stage) => states[stage].status !== "pending" || states[stage].attempts > 0);
  const status: JobStatus = failed ? "failed" : complete ? "complete" : started ? "processing" : "pending";
  // The last stage's completion is the job's: it was that write that made the job complete.
  const completedAt = complete
    ? stages.map((stage) => states[stage].completedAt ?? "").reduce((latest, at) => (at > latest ? at : latest), "")
    : undefined;
  return jobSchema.parse({
    ...item,
    status,
    ...(completedAt ? { completedAt } : {}),
    completionPublished: item.completionPublished === true,
  });
}

/**
 * A run is complete when `finished` (complete + failed) reaches `total`; its last outcome's time is the completion
 * time.
 */
export function toRun(item: Record<string, unknown>): Run {
  const finished = item.finished as number;
  const total = item.total as number;
  return runSchema.parse({
    ...item,
    ...(finished >= total && typeof item.lastOutcomeAt === "string" ? { completedAt: item.lastOutcomeAt } : {}),
    completionPublished: item.completionPublished === true,
  });
}

export const isJobComplete = (item: Record<string, unknown>) =>
  typeof item.failedAt !== "string" && item.remainingStages === 0;
export const isRunComplete = (item: Record<string, unknown>) => (item.finished as number) >= (item.total as number);
