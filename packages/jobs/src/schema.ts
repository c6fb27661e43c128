import {
  classificationResult,
  documentLocation,
  documentMetadata,
  failureReason,
  isoTimestamp,
  jobId,
  runId,
  sha256Hex,
  stageName,
  summaryResult,
  type ClassificationResult,
  type StageName,
  type SummaryResult,
} from "@quire/contracts";
import { z } from "zod";

export const jobStatus = z.enum(["pending", "processing", "complete", "failed"]);
export type JobStatus = z.infer<typeof jobStatus>;

export const stageStatus = z.enum(["pending", "processing", "done"]);
export type StageStatus = z.infer<typeof stageStatus>;

const stageState = <R extends z.ZodType>(result: R) =>
  z.object({
    status: stageStatus,
    /** How many times the stage was started (redeliveries and retries included). */
    attempts: z.number().int().nonnegative(),
    startedAt: isoTimestamp.optional(),
    completedAt: isoTimestamp.optional(),
    result: result.optional(),
  });

export const summaryStageState = stageState(summaryResult);
export const classificationStageState = stageState(classificationResult);
export type StageState<R> = {
  status: StageStatus;
  attempts: number;
  startedAt?: string | undefined;
  completedAt?: string | undefined;
  result?: R | undefined;
};

/** The result type each stage records. */
export type StageResult<S extends StageName> = S extends "summary" ? SummaryResult : ClassificationResult;

export const jobSchema = z.object({
  jobId,
  runId: runId.optional(),
  title: z.string().max(512).optional(),
  metadata: documentMetadata.optional(),
  contentSha256: sha256Hex,
  document: documentLocation,
  /** The stages this job waits for; it is complete when every one of them is done. */
  stages: z.array(stageName).min(1),
  status: jobStatus,
  stageStates: z.object({ summary: summaryStageState, classification: classificationStageState }),
  submittedAt: isoTimestamp,
  updatedAt: isoTimestamp,
  completedAt: isoTimestamp.optional(),
  failedAt: isoTimestamp.optional(),
  error: failureReason.optional(),
  /** The stage that gave up, when a stage failed the job. */
  failedStage: stageName.optional(),
  idempotencyKey: z.string().optional(),
  /** Whether "Job Completed" went out (markCompletionPublished); false until then, and for jobs not complete. */
  completionPublished: z.boolean(),
  /** When a redrive last took its failure back (reopenJob): an outcome announced before that is stale. */
  reopenedAt: isoTimestamp.optional(),
});
export type Job = z.infer<typeof jobSchema>;

export const runSchema = z.object({
  runId,
  total: z.number().int().nonnegative(),
  /** Jobs whose first stage has started (pending = total − started). */
  started: z.number().int().nonnegative().default(0),
  complete: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  countsByClassification: z.record(z.string(), z.number().int().nonnegative()),
  startedAt: isoTimestamp,
  /** As the caller gave it (the API takes an ISO 8601 duration); stored, not enforced here. */
  deadline: z.string().optional(),
  /**
   * What the run may spend on the model: US dollars and/or tokens (input + output). Past it, its
   * jobs' stages stop calling the model (BUDGET_EXCEEDED); set at submission, never changed.
   */
  budget: z
    .object({ usd: z.number().positive().optional(), tokens: z.number().int().positive().optional() })
    .optional(),
  /** How its model calls are made, chosen at submission: on demand, or batch inference until `fallbackAt`. Absent: on demand (runs from before batch inference). */
  inference: z.object({ mode: z.enum(["onDemand", "batch"]), fallbackAt: isoTimestamp.optional() }).optional(),
  /** The deadline plan it was given at submission, as the API made it (opaque here). */
  plan: z.record(z.string(), z.unknown()).optional(),
  updatedAt: isoTimestamp,
  /** Set once complete + failed reached total. */
  completedAt: isoTimestamp.optional(),
  /** Whether "Run Completed" went out (markRunCompletionPublished). */
  completionPublished: z.boolean(),
  /** When a redrive last took a failed outcome back out of it (reopenRunOutcome): a "Run Completed" from before is stale. */
  reopenedAt: isoTimestamp.optional(),
  /** The model tokens of its counted jobs' results, and what they cost (see RunUsage). */
  inputTokens: z.number().int().nonnegative().default(0),
  outputTokens: z.number().int().nonnegative().default(0),
  /** In millionths of a US dollar, so that counting stays exact integer arithmetic. */
  costMicroUsd: z.number().int().nonnegative().default(0),
  /** Counted jobs whose model had no price: their tokens are in the totals, their cost is not. */
  unpricedJobs: z.number().int().nonnegative().default(0),
});
export type Run = z.infer<typeof runSchema>;

/** Results are cached by content and by what produced them, so a new prompt or model never reuses an old answer. */
export const resultCacheKey = z.object({
  contentSha256: sha256Hex,
  stage: stageName,
  promptVersion: z.string().min(1),
  modelId: z.string().min(1),
});
export type ResultCacheKey = z.infer<typeof resultCacheKey>;

/**
 * A job's model usage as its run counts it: the tokens of the stage results it keeps, and their
 * cost at the price table the counting stage had (undefined: its model had no price).
 */
export interface RunUsage {
  inputTokens: number;
  outputTokens: number;
  costMicroUsd?: number | undefined;
}

export type RunOutcome =
  | {
      status: "complete";
      label: string;
      /** Pass it: a repeated outcome for the same job (a re-announced completion) is then counted once. */
      jobId?: string | undefined;
      usage?: RunUsage | undefined;
    }
  | { status: "failed"; jobId?: string | undefined; usage?: RunUsage | undefined };

export const resultSchemaOf = (stage: StageName) => (stage === "summary" ? summaryResult : classificationResult);
