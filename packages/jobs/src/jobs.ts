import { randomUUID } from "node:crypto";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { failureReason, type DocumentLocation, type FailureReason, type StageName } from "@quire/contracts";
import { createAnnouncements, jobCompletion, jobFailure } from "./announcement.ts";
import { conditionally, getItem, isConditionFailure, type StoreContext } from "./dynamo.ts";
import { JobNotCompleteError, JobNotFoundError, StageNotRequestedError } from "./errors.ts";
import { toJob } from "./items.ts";
import { jobKey, runJobsIndexKey, runKey } from "./keys.ts";
import { resultSchemaOf, type Job, type StageResult } from "./schema.ts";

export interface CreateJobInput {
  jobId: string;
  runId?: string | undefined;
  title?: string | undefined;
  metadata?: Record<string, string | number | boolean> | undefined;
  contentSha256: string;
  document: DocumentLocation;
  stages: StageName[];
  submittedAt: string;
  idempotencyKey?: string | undefined;
}

export interface StageOutcome {
  job: Job;
  /** True when this call wrote nothing: the stage was already recorded, or the job had failed. */
  duplicate: boolean;
  /**
   * The completed job, for the one caller that must publish "Job Completed" and then call
   * markCompletionPublished (or, if publishing fails, releaseCompletion with `lease`): the stage
   * write that completed the job, or a later delivery that finds the completion unpublished and
   * unleased (the holder failed to publish, or crashed).
   */
  completion?: Job;
  /** The announcement lease `completion` comes with. */
  lease?: string;
  /**
   * The job is complete but another caller holds the announcement: this delivery must not be
   * acknowledged yet (see announcement.ts); retry after this long.
   */
  announcementHeldMs?: number;
}

/** What failJob tells its caller about "Job Failed". */
export interface FailOutcome {
  /** This call made the job fail. */
  failedNow: boolean;
  job: Job | undefined;
  /** "Job Failed" is this caller's to publish (then markFailurePublished; on error releaseFailure with it). */
  lease?: string;
  /** Another caller is announcing the failure: do not acknowledge yet; retry after this long. */
  announcementHeldMs?: number;
}

/**
 * Attribute names go through placeholders throughout: several (status, result, error) are
 * DynamoDB reserved words, and one convention is easier to read than a mix.
 */
const stageNames = (stage: StageName) => ({
  "#states": "stageStates",
  "#stage": stage,
  "#status": "status",
  "#startedAt": "startedAt",
  "#updatedAt": "updatedAt",
  "#stages": "stages",
  "#failedAt": "failedAt",
});

export function createJobOperations(ctx: StoreContext) {
  const at = () => ctx.now().toISOString();
  const announcements = createAnnouncements(ctx);

  /** After a lost conditional write: the job as it is now, or the error that explains the loss. */
  async function currentJob(jobId: string, stage?: StageName): Promise<Record<string, unknown>> {
    const item = await getItem(ctx, jobKey(jobId));
    if (!item) throw new JobNotFoundError(jobId);
    if (stage && !(item.stages as StageName[]).includes(stage)) throw new StageNotRequestedError(jobId, stage);
    return item;
  }

  async function createJob(input: CreateJobInput): Promise<{ created: boolean; job: Job }> {
    const stages = [...new Set(input.stages)];
    const pendingStage = { status: "pending", attempts: 0 };
    const item = {
      ...jobKey(input.jobId),
      ...(input.runId ? runJobsIndexKey(input.runId, input.jobId) : {}),
      entity: "job",
      jobId: input.jobId,
      runId: input.runId,
      title: input.title,
      metadata: input.metadata,
      contentSha256: input.contentSha256,
      document: input.document,
      stages,
      stageStates: { summary: pendingStage, classification: pendingStage },
      // Each requested stage's first completion takes one off; 0 means complete (see items.ts).
      remainingStages: stages.length,
      submittedAt: input.submittedAt,
      updatedAt: at(),
      idempotencyKey: input.idempotencyKey,
      completionPublished: false,
    };
    // Validates the input (ids, hashes, location) before anything is written.
    const job = toJob(item);
    try {
      await ctx.db.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { created: true, job };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { created: false, job: toJob(await currentJob(input.jobId)) };
    }
  }

  async function getJob(jobId: string): Promise<Job | undefined> {
    const item = await getItem(ctx, jobKey(jobId));
    return item ? toJob(item) : undefined;
  }

  async function startStage(jobId: string, stage: StageName): Promise<Job> {
    const now = at();
    const token = randomUUID();
    try {
      const { Attributes } = await ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: jobKey(jobId),
          UpdateExpression:
            "SET #states.#stage.#status = :processing, #states.#stage.#attempts = #states.#stage.#attempts + :one, " +
            "#states.#stage.#startedAt = if_not_exists(#states.#stage.#startedAt, :now), #updatedAt = :now, " +
            "#firstStart = if_not_exists(#firstStart, :token)",
          // A done stage keeps its result and a failed job stays failed: both are no-ops (then read).
          // attribute_exists(pk) stops an update from creating a stray item for an unknown id.
          ConditionExpression:
            "attribute_exists(pk) AND contains(#stages, :stageName) AND #states.#stage.#status <> :done AND attribute_not_exists(#failedAt)",
          ExpressionAttributeNames: { ...stageNames(stage), "#attempts": "attempts", "#firstStart": "firstStartToken" },
          ExpressionAttributeValues: {
            ":processing": "processing",
            ":done": "done",
            ":one": 1,
            ":now": now,
            ":stageName": stage,
            ":token": token,
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      // Our token survived if_not_exists only if this call was the job's first stage start:
      // that call alone moves the job from pending to processing in its run's counts.
      if (Attributes!.firstStartToken === token && typeof Attributes!.runId === "string") {
        await ctx.db
          .send(
            new UpdateCommand({
              TableName: ctx.tableName,
              Key: runKey(Attributes!.runId),
              UpdateExpression: "ADD #started :one",
              ConditionExpression: "attribute_exists(pk)",
              ExpressionAttributeNames: { "#started": "started" },
              ExpressionAttributeValues: { ":one": 1 },
            }),
          )
          .catch((error: unknown) => {
            if (!isConditionFailure(error)) throw error;
          });
      }
      return toJob(Attributes!);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return toJob(await currentJob(jobId, stage));
    }
  }

  async function completeStage<S extends StageName>(
    jobId: string,
    stage: S,
    result: StageResult<S>,
  ): Promise<StageOutcome> {
    const recorded = resultSchemaOf(stage).parse(result);
    const now = at();
    try {
      // One write records the result and, when it is the last requested stage, completes the job:
      // `remainingStages` reaches 0 in exactly one write, because each stage can only go to done
      // once (the condition) and failJob needs remainingStages > 0. That write's caller is the winner.
      const { Attributes } = await ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: jobKey(jobId),
          UpdateExpression:
            "SET #states.#stage.#status = :done, #states.#stage.#result = :result, #states.#stage.#completedAt = :now, " +
            "#states.#stage.#startedAt = if_not_exists(#states.#stage.#startedAt, :now), #updatedAt = :now, " +
            "#remaining = #remaining - :one, #lease = :now",
          ConditionExpression:
            "attribute_exists(pk) AND contains(#stages, :stageName) AND #states.#stage.#status <> :done AND attribute_not_exists(#failedAt)",
          ExpressionAttributeNames: {
            ...stageNames(stage),
            "#result": "result",
            "#completedAt": "completedAt",
            "#remaining": "remainingStages",
            // Only meaningful once complete: when the winner claimed the announcement.
            "#lease": "announceLeaseAt",
          },
          ExpressionAttributeValues: {
            ":done": "done",
            ":result": recorded,
            ":now": now,
            ":one": 1,
            ":stageName": stage,
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      const job = toJob(Attributes!);
      return job.status === "complete"
        ? { job, duplicate: false, completion: job, lease: now }
        : { job, duplicate: false };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const item = await currentJob(jobId, stage);
    const job = toJob(item);
    const claim = await announcements.claim(jobCompletion, jobKey(jobId), item);
    if (claim.status === "claimed") return { job, duplicate: true, completion: job, lease: claim.leaseAt };
    if (claim.status === "held") return { job, duplicate: true, announcementHeldMs: claim.retryAfterMs };
    return { job, duplicate: true };
  }

  async function markCompletionPublished(jobId: string): Promise<void> {
    // Idempotent: marking twice is fine; marking a job that is not complete is a bug.
    if (await announcements.markPublished(jobCompletion, jobKey(jobId))) return;
    await currentJob(jobId);
    throw new JobNotCompleteError(jobId);
  }

  /** After a failed "Job Completed" publish: the delivery's retry may claim it at once. */
  const releaseCompletion = (jobId: string, lease: string) =>
    announcements.release(jobCompletion, jobKey(jobId), lease);
  const markFailurePublished = async (jobId: string) =>
    void (await announcements.markPublished(jobFailure, jobKey(jobId)));
  const releaseFailure = (jobId: string, lease: string) => announcements.release(jobFailure, jobKey(jobId), lease);

  async function failJob(jobId: string, reason: FailureReason, stage?: StageName): Promise<FailOutcome> {
    const error = failureReason.parse(reason);
    const now = at();
    try {
      const { Attributes } = await ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: jobKey(jobId),
          // The failing write also takes the "Job Failed" announcement (see announcement.ts).
          UpdateExpression: `SET #failedAt = :now, #error = :error, #updatedAt = :now, #failurePublished = :false, #failureLease = :now${stage ? ", #failedStage = :stage" : ""}`,
          // Once failed stays failed; complete (no stage remaining) can no longer fail.
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(#failedAt) AND #remaining > :zero",
          ExpressionAttributeNames: {
            "#failedAt": "failedAt",
            "#error": "error",
            "#updatedAt": "updatedAt",
            "#remaining": "remainingStages",
            "#failurePublished": jobFailure.published,
            "#failureLease": jobFailure.lease,
            ...(stage ? { "#failedStage": "failedStage" } : {}),
          },
          ExpressionAttributeValues: {
            ":now": now,
            ":error": error,
            ":zero": 0,
            ":false": false,
            ...(stage ? { ":stage": stage } : {}),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { failedNow: true, job: toJob(Attributes!), lease: now };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = await getItem(ctx, jobKey(jobId));
      if (!item) return { failedNow: false, job: undefined };
      // Failed before, by a caller whose "Job Failed" may not be out yet: claim it, or wait for it.
      const job = toJob(item);
      const claim = await announcements.claim(jobFailure, jobKey(jobId), item);
      if (claim.status === "claimed") return { failedNow: false, job, lease: claim.leaseAt };
      if (claim.status === "held") return { failedNow: false, job, announcementHeldMs: claim.retryAfterMs };
      return { failedNow: false, job };
    }
  }

  /**
   * A failed job goes back to work (its dead-lettered message was redriven): the failure is
   * cleared and the job is pending/processing again, its done stages kept. True for the call
   * that reopened it (one of any concurrent callers); false if it was not failed. Its run must
   * un-count the failure first (runs.reopenRunOutcome), so a crash between the two writes leaves
   * the job failed and the redelivery repeats both.
   */
  async function reopenJob(jobId: string): Promise<boolean> {
    return conditionally(() =>
      ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: jobKey(jobId),
          UpdateExpression:
            "REMOVE #failedAt, #error, #failedStage, #failurePublished, #failureLease SET #reopenedAt = :now, #updatedAt = :now ADD #reopened :one",
          ConditionExpression: "attribute_exists(#failedAt)",
          ExpressionAttributeNames: {
            "#failedAt": "failedAt",
            "#error": "error",
            "#failedStage": "failedStage",
            "#failurePublished": jobFailure.published,
            "#failureLease": jobFailure.lease,
            "#reopenedAt": "reopenedAt",
            "#updatedAt": "updatedAt",
            "#reopened": "reopenCount",
          },
          ExpressionAttributeValues: { ":now": at(), ":one": 1 },
        }),
      ),
    );
  }

  return {
    createJob,
    getJob,
    startStage,
    completeStage,
    markCompletionPublished,
    releaseCompletion,
    failJob,
    markFailurePublished,
    releaseFailure,
    reopenJob,
  };
}
