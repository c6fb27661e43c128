import { stageName, type StageName } from "@quire/contracts";
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

/** The stage results a job keeps, in its stages' order (each names the model that made it). */
export const keptResults = (job: Job) =>
  job.stages.flatMap((stage) => {
    const result = job.stageStates[stage].result;
    return result ? [result] : [];
  });

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

/** Which of a run's jobs a listing keeps (listRunJobs); every given field must hold. */
export interface JobFilter {
  status?: JobStatus | undefined;
  /** The classification result's label, exactly. */
  classification?: string | undefined;
  /** A substring of the title, case-sensitive (DynamoDB's `contains`); a job without a title never matches. */
  title?: string | undefined;
  /**
   * One metadata entry, its value as text: it matches a stored string equal to it, or a number or
   * boolean that reads the same (`"12"` matches 12, `"true"` matches true) — metadata values are typed.
   */
  metadata?: { key: string; value: string } | undefined;
}

/** A DynamoDB FilterExpression with the placeholders it uses, and only those (DynamoDB refuses unused ones). */
export interface FilterExpression {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * `filter` as a FilterExpression on the stored job item. The status is not stored (see toJob), so
 * it is tested on the facts toJob derives it from, clause for clause: failed ⇔ `failedAt` is a
 * string; complete ⇔ not failed and `remainingStages` = 0; otherwise processing ⇔ some requested
 * stage is not pending or was attempted, else pending. Undefined when nothing is filtered.
 */
export function jobFilterExpression(filter: JobFilter): FilterExpression | undefined {
  const clauses: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (filter.status !== undefined) {
    Object.assign(names, { "#failedAt": "failedAt" });
    Object.assign(values, { ":string": "S" });
    const failed = "attribute_type(#failedAt, :string)";
    if (filter.status === "failed") clauses.push(failed);
    else {
      Object.assign(names, { "#remaining": "remainingStages" });
      Object.assign(values, { ":zero": 0 });
      const complete = "#remaining = :zero";
      if (filter.status === "complete") clauses.push(`NOT ${failed} AND ${complete}`);
      else {
        Object.assign(names, {
          "#stages": "stages",
          "#states": "stageStates",
          "#status": "status",
          "#attempts": "attempts",
        });
        Object.assign(values, { ":pending": "pending" });
        const started = stageName.options.map((stage) => {
          names[`#${stage}`] = stage;
          values[`:${stage}`] = stage;
          return `(contains(#stages, :${stage}) AND (#states.#${stage}.#status <> :pending OR #states.#${stage}.#attempts > :zero))`;
        });
        const isStarted = `(${started.join(" OR ")})`;
        clauses.push(
          `NOT ${failed} AND NOT (${complete}) AND ${filter.status === "processing" ? isStarted : `NOT ${isStarted}`}`,
        );
      }
    }
  }
  if (filter.classification !== undefined) {
    Object.assign(names, {
      "#states": "stageStates",
      "#classification": "classification",
      "#result": "result",
      "#label": "label",
    });
    values[":label"] = filter.classification;
    clauses.push("#states.#classification.#result.#label = :label");
  }
  if (filter.title !== undefined) {
    names["#title"] = "title";
    values[":title"] = filter.title;
    clauses.push("contains(#title, :title)");
  }
  if (filter.metadata !== undefined) {
    const { key, value } = filter.metadata;
    Object.assign(names, { "#metadata": "metadata", "#metaKey": key });
    const candidates: unknown[] = [value];
    if (value.trim() !== "" && Number.isFinite(Number(value))) candidates.push(Number(value));
    if (value === "true" || value === "false") candidates.push(value === "true");
    const placeholders = candidates.map((candidate, i) => {
      values[`:meta${i}`] = candidate;
      return `:meta${i}`;
    });
    clauses.push(`#metadata.#metaKey IN (${placeholders.join(", ")})`);
  }
  if (clauses.length === 0) return undefined;
  return { expression: clauses.map((clause) => `(${clause})`).join(" AND "), names, values };
}
