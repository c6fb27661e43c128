import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ClassificationResult, FailureReason, StageName, SummaryResult } from "@quire/contracts";
import { documentClient, type StoreContext } from "./dynamo.ts";
import { createIdempotency, type IdempotencyClaim } from "./idempotency.ts";
import { createJobOperations, type CreateJobInput, type FailOutcome, type StageOutcome } from "./jobs.ts";
import { createResultCache } from "./result-cache.ts";
import { createRunOperations, type CreateRunInput, type RunOutcomeRecorded } from "./runs.ts";
import type { JobFilter } from "./items.ts";
import type { Job, ResultCacheKey, Run, RunOutcome, RunUsage, StageResult } from "./schema.ts";

/**
 * How long an announcement's holder has to publish and mark it before a later delivery may take
 * it over (JobStoreOptions.announceLeaseMs): also the soonest a re-announcement can follow.
 */
export const DEFAULT_ANNOUNCE_LEASE_MS = 30_000;

export interface JobStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  now?: () => Date;
  /**
   * How long the caller that won a completion (job or run) has to publish it and mark it
   * published before a later delivery may announce it again. Keep it under the stage queues'
   * visibility timeout (120 s) so a crashed winner's redelivery finds it expired. Default 30 s.
   */
  announceLeaseMs?: number;
  /** How long an idempotency key keeps pointing at its job. Default 24 h. */
  idempotencyTtlSeconds?: number;
  /** How long a cached stage result is reused. Default 30 days. */
  resultCacheTtlSeconds?: number;
}

/**
 * The jobs table, through single-item conditional writes only (dynalite has no transactions).
 *
 * DynamoDB calls per document, happy path, both stages (excluding runs and the result cache):
 *   createJob 1 PutItem · startStage ×2 1 UpdateItem each · completeStage ×2 1 UpdateItem each
 *   (the second one also completes the job) · markCompletionPublished 1 UpdateItem  = 6.
 * In a run, per job: +1 TransactWriteItems (recordRunOutcome: the job's membership item and the
 * run's counters, two small items — AWS bills a transaction's writes twice) and +1 GetItem (is
 * the run finished?). Nothing grows with the run. Once per run: +1 PutItem (its listing entry,
 * beside the run's own), +1 UpdateItem (the winner claims "Run Completed") and +1 UpdateItem
 * (markRunCompletionPublished).
 * Result cache as the stage handler uses it: +1 GetItem and, on a miss, +1 PutItem per stage.
 * A duplicate or losing call adds one consistent GetItem to learn why its write lost.
 */
export interface JobStore {
  /** Idempotent on jobId: a second call returns created:false and the existing job. */
  createJob(input: CreateJobInput): Promise<{ created: boolean; job: Job }>;
  /**
   * Map a caller's idempotency key to a jobId once (conditional put); returns the jobId that
   * owns the key. `claimed` is true when it is the jobId passed in (a repeat by the owner too).
   * `requestHash` (a fingerprint of the request) is stored with the claim, and a lost claim
   * returns the owner's, so a different request reusing the key can be told from a retry.
   */
  claimIdempotencyKey(
    key: string,
    jobId: string,
    options?: { requestHash?: string | undefined },
  ): Promise<IdempotencyClaim>;
  /** Release a key `jobId` still owns (a conditional delete): after its submission failed. Returns whether it did. */
  releaseIdempotencyKey(key: string, jobId: string): Promise<boolean>;
  /** Strongly consistent. */
  getJob(jobId: string): Promise<Job | undefined>;
  /**
   * pending → processing on the first stage start; counts attempts per stage. A no-op (the
   * job returned as it is) for a terminal job or a stage already done, so the caller can skip
   * work or reuse the stored result. Throws JobNotFoundError / StageNotRequestedError.
   */
  startStage(jobId: string, stage: StageName): Promise<Job>;
  /**
   * Record a stage result once (a duplicate, or a result for a failed job, writes nothing:
   * `duplicate: true`). The write that makes every requested stage done completes the job and
   * returns `completion`: exactly one caller gets it; it must publish "Job Completed" and then
   * call markCompletionPublished. A later delivery that finds the completion still unpublished
   * after `announceLeaseMs` gets `completion` again (at-least-once; one caller per lease).
   */
  completeStage(jobId: string, stage: "summary", result: SummaryResult): Promise<StageOutcome>;
  completeStage(jobId: string, stage: "classification", result: ClassificationResult): Promise<StageOutcome>;
  /** After "Job Completed" went out; from then on no delivery re-announces. Throws if the job is not complete. */
  markCompletionPublished(jobId: string): Promise<void>;
  /** Publishing "Job Completed" failed: give the lease back so the delivery's retry claims it at once. */
  releaseCompletion(jobId: string, lease: string): Promise<void>;
  /**
   * non-terminal → failed with reason, once. A complete job cannot fail. The caller that gets a
   * `lease` (the one that failed it, or a later one finding "Job Failed" unannounced) must
   * publish "Job Failed", then markFailurePublished; `announcementHeldMs` says another is doing so.
   */
  failJob(jobId: string, reason: FailureReason, stage?: StageName): Promise<FailOutcome>;
  markFailurePublished(jobId: string): Promise<void>;
  releaseFailure(jobId: string, lease: string): Promise<void>;
  /**
   * failed → back to work, for a redriven message: clears the failure, keeps done stages. True
   * for the one call that reopened it. Call reopenRunOutcome for its run first.
   */
  reopenJob(jobId: string): Promise<boolean>;
  /** Idempotent on runId. `total` must be positive. */
  createRun(input: CreateRunInput): Promise<{ created: boolean; run: Run }>;
  /** A failed run submission's cleanup: its still-pending jobs of `jobIds`, then the run while nothing started. */
  discardUnpublishedRun(runId: string, jobIds: readonly string[]): Promise<void>;
  /**
   * Called once per job outcome (by whoever won complete/failed). Counts it atomically; the
   * call that brings complete + failed to total gets `runCompleted` (exactly once per run). Pass
   * `jobId` in the outcome and a repeated outcome for that job (a re-announced completion) is
   * not counted twice; it may instead get `runCompleted` again if the run's winner never called
   * markRunCompletionPublished within `announceLeaseMs`. Outcomes past `total` are ignored.
   */
  recordRunOutcome(runId: string, outcome: RunOutcome): Promise<RunOutcomeRecorded>;
  /** After "Run Completed" went out (see recordRunOutcome). */
  markRunCompletionPublished(runId: string): Promise<void>;
  releaseRunCompletion(runId: string, lease: string): Promise<void>;
  /** Un-count a failed job's outcome from its run (it was redriven); a finished run opens again. Once per outcome. */
  reopenRunOutcome(runId: string, jobId: string, usage?: RunUsage): Promise<boolean>;
  /** Strongly consistent; counts included. */
  getRun(runId: string): Promise<Run | undefined>;
  /**
   * A page of a run's jobs in submission order (byRun index). Default limit 100, at most 1000.
   * With `filter`, the jobs of the page read that match it: a page may be short or empty while
   * `cursor` is still there (follow it to the end). A cursor from another listing, or forged, is
   * an InvalidCursorError.
   */
  listRunJobs(
    runId: string,
    options?: { limit?: number; cursor?: string; filter?: JobFilter },
  ): Promise<{ jobs: Job[]; cursor?: string }>;
  /**
   * A page of runs, newest first (by runId), counts included. Default limit 20, at most 100. A
   * page may be short while `cursor` is still there. A forged cursor is an InvalidCursorError.
   */
  listRuns(options?: { limit?: number; cursor?: string }): Promise<{ runs: Run[]; cursor?: string }>;
  /** Result cache keyed by content: sha256(document) + stage + promptVersion + modelId. */
  getCachedResult<S extends StageName>(key: ResultCacheKey & { stage: S }): Promise<StageResult<S> | undefined>;
  putCachedResult<S extends StageName>(key: ResultCacheKey & { stage: S }, result: StageResult<S>): Promise<void>;
  /**
   * Claim computing a result (an in-progress marker with a lease) — and look it up, in the same
   * write: refused, it answers the cached `result` if there is one, else `heldBy`, the job holding
   * the claim.
   */
  claimComputation<S extends StageName>(
    key: ResultCacheKey & { stage: S },
    holder: { jobId: string; leaseMs: number },
  ): Promise<{ claimed: true } | { claimed: false; heldBy: string | undefined; result?: StageResult<S> | undefined }>;
  /** Give up a claim after a failed computation. */
  releaseComputation(key: ResultCacheKey, jobId: string): Promise<void>;
}

export function createJobStore(options: JobStoreOptions): JobStore {
  const ctx: StoreContext = {
    db: documentClient(options.client),
    tableName: options.tableName,
    now: options.now ?? (() => new Date()),
    announceLeaseMs: options.announceLeaseMs ?? DEFAULT_ANNOUNCE_LEASE_MS,
    idempotencyTtlSeconds: options.idempotencyTtlSeconds ?? 24 * 60 * 60,
    resultCacheTtlSeconds: options.resultCacheTtlSeconds ?? 30 * 24 * 60 * 60,
  };
  const jobs = createJobOperations(ctx);
  const runs = createRunOperations(ctx);
  const cache = createResultCache(ctx);
  const idempotency = createIdempotency(ctx);
  return {
    createJob: jobs.createJob,
    claimIdempotencyKey: idempotency.claimIdempotencyKey,
    releaseIdempotencyKey: idempotency.releaseIdempotencyKey,
    getJob: jobs.getJob,
    startStage: jobs.startStage,
    completeStage: jobs.completeStage,
    markCompletionPublished: jobs.markCompletionPublished,
    releaseCompletion: jobs.releaseCompletion,
    failJob: jobs.failJob,
    markFailurePublished: jobs.markFailurePublished,
    releaseFailure: jobs.releaseFailure,
    reopenJob: jobs.reopenJob,
    createRun: runs.createRun,
    discardUnpublishedRun: runs.discardUnpublishedRun,
    recordRunOutcome: runs.recordRunOutcome,
    markRunCompletionPublished: runs.markRunCompletionPublished,
    releaseRunCompletion: runs.releaseRunCompletion,
    reopenRunOutcome: runs.reopenRunOutcome,
    getRun: runs.getRun,
    listRunJobs: runs.listRunJobs,
    listRuns: runs.listRuns,
    getCachedResult: cache.getCachedResult,
    putCachedResult: cache.putCachedResult,
    claimComputation: cache.claimComputation,
    releaseComputation: cache.releaseComputation,
  };
}
