import type { S3Client } from "@aws-sdk/client-s3";
import { BedrockRequestError, ModelOutputError, type BedrockStageClient } from "@quire/bedrock";
import {
  SCHEMA_VERSION,
  type ClassificationResult,
  type DocumentSubmitted,
  type SummaryResult,
} from "@quire/contracts";
import { runDeadlineAt, type JobStore } from "@quire/jobs";
import { PermanentError, type ConsumerContext } from "@quire/runtime";
import { loadDocumentText } from "./document-source.ts";
import type { EventPublisher } from "./event-publisher.ts";
import { AnnouncementPendingError, type JobLifecycle } from "./lifecycle.ts";

export interface StageDependencies {
  jobs: JobStore;
  bedrock: BedrockStageClient;
  s3: S3Client;
  events: EventPublisher;
  lifecycle: JobLifecycle;
  now?: () => Date;
  /** How long a claim to compute a result holds (default 5 minutes). */
  computationLeaseMs?: number;
  /** Why the job's run may not call the model any more (its budget is spent), or undefined (see run-budget.ts). */
  runBudget?: (runId: string | undefined) => Promise<string | undefined>;
}

type Stage = "summary" | "classification";

/**
 * Longer than a typical Bedrock call with its retries, short enough that a crashed holder's
 * work is taken over soon. A holder slower than this only costs a second model call.
 */
const DEFAULT_COMPUTATION_LEASE_MS = 3 * 60_000;
const RESULT_POLL_MS = 250;

/**
 * One stage's handling of `document.submitted`, safe under at-least-once delivery:
 * results are keyed by content (sha256 + stage + prompt version + model), so a duplicate
 * delivery, a redelivery after a crash or the same document submitted twice never calls
 * Bedrock again; the job store's conditional writes decide who announces completion.
 */
export function createStageHandler(stage: Stage, deps: StageDependencies) {
  const now = () => (deps.now ? deps.now() : new Date()).toISOString();
  const computationLeaseMs = deps.computationLeaseMs ?? DEFAULT_COMPUTATION_LEASE_MS;
  const promptVersion =
    stage === "summary" ? deps.bedrock.summaryPromptVersion : deps.bedrock.classificationPromptVersion;

  /**
   * The stage's result, computed at most once per content key while its claim holds. Another
   * delivery holding the claim (a concurrent duplicate of this job, or the same content in
   * another job) is waited for, never trusted blindly: if its worker died, the claim lapses and
   * this delivery takes over.
   */
  async function produce(
    message: DocumentSubmitted,
    ctx: ConsumerContext,
  ): Promise<SummaryResult | ClassificationResult> {
    const key = { contentSha256: message.contentSha256, stage, promptVersion, modelId: deps.bedrock.modelId };
    // Past the lease, the claim can be taken: one more attempt after it, then give the message back.
    const waitUntil = Date.now() + computationLeaseMs + 2 * RESULT_POLL_MS;
    for (;;) {
      // One write is both the cache lookup and the claim: refused by a cached result, it answers it.
      const claim = await deps.jobs.claimComputation(key, { jobId: message.jobId, leaseMs: computationLeaseMs });
      if (claim.claimed) return compute(message, key, ctx);
      if (claim.result) {
        ctx.log.info("result cache hit", { jobId: message.jobId, stage });
        return claim.result;
      }
      if (Date.now() > waitUntil || ctx.signal.aborted) {
        // Transient: the message comes back later, when the result is cached or the claim has lapsed.
        throw new Error(
          `the ${stage} of this content is still being computed by ${claim.heldBy ?? "another delivery"}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RESULT_POLL_MS));
    }
  }

  async function compute(
    message: DocumentSubmitted,
    key: Parameters<JobStore["claimComputation"]>[0],
    ctx: ConsumerContext,
  ) {
    try {
      const text = await loadDocumentText(deps.s3, message.document, ctx.signal);
      // A cached result costs nothing: the run's budget is asked only before a model call, once
      // the governor admitted it (calls that waited for a permit see the spend counted meanwhile).
      const runBudget = deps.runBudget;
      const admit = runBudget
        ? async () => {
            const spent = await runBudget(message.runId);
            if (spent)
              throw new PermanentError("BUDGET_EXCEEDED", `The ${stage} stage did not call the model: ${spent}.`);
          }
        : undefined;
      const options = { signal: ctx.signal, lane: message.priority, ...(admit ? { admit } : {}) };
      const {
        latencyMs: _latency,
        attempts: _attempts,
        ...result
      } = stage === "summary"
        ? await deps.bedrock.summarize(text, options)
        : await deps.bedrock.classify(text, options);
      await deps.jobs.putCachedResult(key, result);
      return result;
    } catch (error) {
      await deps.jobs.releaseComputation(key, message.jobId);
      if (error instanceof ModelOutputError || error instanceof BedrockRequestError) {
        throw new PermanentError(error.code, error.message, { cause: error });
      }
      throw error;
    }
  }

  async function run(message: DocumentSubmitted, ctx: ConsumerContext): Promise<void> {
    if (!message.stages.includes(stage)) return;
    let job = await deps.jobs.startStage(message.jobId, stage);
    if (job.status === "failed" && ctx.previousFailure) {
      // Redriven from the DLQ after the cause was fixed: the job goes back to work.
      ctx.log.info("redriven message: reopening the failed job", {
        jobId: message.jobId,
        stage,
        previousFailure: ctx.previousFailure,
      });
      await deps.lifecycle.reopenForRedrive(job);
      job = await deps.jobs.startStage(message.jobId, stage);
    }
    if (job.status === "failed") {
      // Nothing owed if this stage is done. Otherwise the stage did not run because the job failed
      // elsewhere: dead-letter it with that reason, so redriving the DLQs after a fix brings back
      // every stage the job still needs — not only the one that failed.
      if (job.stageStates[stage].status === "done") return;
      const cause = job.error
        ? `${job.error.code}${job.failedStage ? ` in ${job.failedStage}` : ""}`
        : "an earlier failure";
      throw new PermanentError("JOB_FAILED", `The ${stage} stage did not run: the job failed (${cause}).`);
    }
    const done = job.stageStates[stage];
    const alreadyDone = done.status === "done" && done.result !== undefined;
    const result = alreadyDone ? done.result! : await produce(message, ctx);
    const correlation = {
      schemaVersion: SCHEMA_VERSION,
      jobId: message.jobId,
      ...(message.runId ? { runId: message.runId } : {}),
      completedAt: now(),
    };

    // The stage event goes out before the stage is recorded: a failure to publish leaves the
    // stage undone, so the redelivery publishes it again (at least once, never lost). Once
    // recorded, a redelivery skips it — it was published first.
    if (!alreadyDone) {
      if (stage === "summary")
        await deps.events.put("Summary Completed", { ...correlation, summary: result as SummaryResult });
      else
        await deps.events.put("Classification Completed", {
          ...correlation,
          classification: result as ClassificationResult,
        });
    }
    const outcome =
      stage === "summary"
        ? await deps.jobs.completeStage(message.jobId, "summary", result as SummaryResult)
        : await deps.jobs.completeStage(message.jobId, "classification", result as ClassificationResult);
    if (outcome.completion && outcome.lease) await deps.lifecycle.announceCompletion(outcome.completion, outcome.lease);
    // The job is complete and someone else is announcing it: acknowledge only once it is out.
    else if (outcome.announcementHeldMs !== undefined)
      throw new AnnouncementPendingError("Job Completed", message.jobId, outcome.announcementHeldMs);
  }

  return run;
}

/**
 * A stage message's retry deadline: its run's deadline, if it has one (a consumer's
 * `retryDeadline`). A transient failure past it fails the job DEADLINE_EXCEEDED instead of
 * waiting out the whole age budget for a run nobody can use any more. Runs never change their
 * deadline, so each is read once per process.
 */
export function createRunDeadline(jobs: Pick<JobStore, "getRun">) {
  const known = new Map<string, Date | undefined>();
  return async (message: Pick<DocumentSubmitted, "runId">): Promise<Date | undefined> => {
    if (!message.runId) return undefined;
    if (known.has(message.runId)) return known.get(message.runId);
    const run = await jobs.getRun(message.runId);
    const deadline = run ? runDeadlineAt(run) : undefined;
    if (known.size >= 1000) known.delete(known.keys().next().value!);
    known.set(message.runId, deadline);
    return deadline;
  };
}
