/**
 * The batcher: runs a run through Bedrock batch inference (see batch-runner.ts for how the answers
 * reach the stages). A `run.batch` message without a submission starts the run's batch jobs; the
 * batcher then sends itself a check, delayed, and each check that finds the jobs still running sends
 * the next, until they have all ended and the run is published to its stages.
 *
 * Nothing a run waits on may be lost here, so every way out ends with the run published:
 * - The batch cannot be used (a request Bedrock refuses for good: no access, a bad role, a
 *   validation error): the run is published at once, to run on demand.
 * - The run's fallback time comes (its deadline minus what the run needs on demand) while the
 *   jobs still run: they are stopped, and their answers so far are used.
 * - The host gives up on the message (its retries ran out): `onDeadLetter` publishes the run.
 * A check delivered twice, or two chains of checks after a redelivered submit, only publish the
 * run twice: the stages ignore what they have already done.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { RUN_BATCH, runBatch, type RunBatch } from "@quire/contracts";
import { defineConsumer, type ConsumerContext } from "@quire/runtime";
import type { BatchCheck, BatchRunner, BatchSubmission } from "./batch-runner.ts";

/** SQS's longest DelaySeconds: a longer wait between checks is this. */
export const MAX_DELAY_SECONDS = 900;

export interface BatcherDependencies {
  runner: Pick<BatchRunner, "submit" | "check" | "stop">;
  sqs: SQSClient;
  /** The batcher's own queue, where its checks wait. */
  queueUrl: string;
  /** Seconds between checks of a run's jobs. */
  pollSeconds: number;
  now?: () => number;
}

/**
 * Whether Bedrock refused the request for good. Throttles, quota (ServiceQuotaExceeded: the
 * model's concurrent jobs) and server errors are worth a retry; other client errors are not.
 */
export function refusedForGood(error: unknown): boolean {
  const fault = (error as { $fault?: string }).$fault;
  const name = (error as Error).name;
  return fault === "client" && name !== "ThrottlingException" && name !== "ServiceQuotaExceededException";
}

export function createBatcher(deps: BatcherDependencies) {
  const now = deps.now ?? Date.now;

  async function scheduleCheck(message: RunBatch, delaySeconds: number) {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds))),
      }),
    );
  }

  /** The next check: after the poll interval, or at the fallback time if that comes first. */
  const nextCheckIn = (message: RunBatch) => {
    if (!message.fallbackAt || message.stopRequested) return deps.pollSeconds;
    return Math.max(0, Math.min(deps.pollSeconds, (Date.parse(message.fallbackAt) - now()) / 1000));
  };

  /**
   * A check that found the jobs ended, and published the run: done, unless some of its documents
   * could not be published — then the message fails, and the host's retry publishes again (the
   * stages ignore the ones already published).
   */
  function published(outcome: Extract<BatchCheck, { state: "published" }>, ctx: ConsumerContext) {
    if (outcome.failedToPublish.length > 0) {
      throw new Error(
        `${outcome.failedToPublish.length} of the run's documents could not be published: ${outcome.failedToPublish[0]!.reason}`,
      );
    }
    ctx.log.info("run published to its stages", {
      cached: outcome.cached,
      refused: outcome.refused,
      published: outcome.published,
    });
  }

  /** Publishes the run's unfinished jobs to the stages, with whatever answers the batch left in the cache. */
  async function publishRun(submission: BatchSubmission, ctx: ConsumerContext) {
    const outcome = await deps.runner.check(submission);
    // Only reachable with jobs to wait for; the callers pass none.
    if (outcome.state === "running") throw new Error("the run's batch jobs are still running");
    published(outcome, ctx);
  }

  async function start(message: RunBatch, ctx: ConsumerContext) {
    if (message.fallbackAt && now() >= Date.parse(message.fallbackAt)) {
      ctx.log.warn("the run's fallback time came before its batch started: it runs on demand");
      return publishRun({ runId: message.runId, jobs: [] }, ctx);
    }
    let submission: BatchSubmission;
    try {
      submission = await deps.runner.submit(message.runId, {
        ...(message.fallbackAt ? { fallbackAt: message.fallbackAt } : {}),
      });
    } catch (error) {
      if (!refusedForGood(error)) throw error;
      ctx.log.error("Bedrock refused the run's batch: it runs on demand", { error });
      return publishRun({ runId: message.runId, jobs: [] }, ctx);
    }
    if (submission.jobs.length === 0) {
      ctx.log.info("too few documents for a batch job: the run goes on demand");
      return publishRun(submission, ctx);
    }
    ctx.log.info("batch jobs started", { jobs: submission.jobs.length });
    const next: RunBatch = { ...message, submission: { jobs: submission.jobs } };
    await scheduleCheck(next, nextCheckIn(next));
  }

  async function check(message: RunBatch & { submission: NonNullable<RunBatch["submission"]> }, ctx: ConsumerContext) {
    const submission = { runId: message.runId, jobs: message.submission.jobs };
    if (message.fallbackAt && !message.stopRequested && now() >= Date.parse(message.fallbackAt)) {
      // Out of time for the batch: stop it, keep what it answered, and run the rest on demand.
      ctx.log.warn("the run's fallback time came: stopping its batch jobs");
      await deps.runner.stop(submission);
      const next = { ...message, stopRequested: true };
      return scheduleCheck(next, Math.min(deps.pollSeconds, 5));
    }
    const outcome = await deps.runner.check(submission);
    if (outcome.state === "running") return scheduleCheck(message, nextCheckIn(message));
    published(outcome, ctx);
  }

  return defineConsumer({
    name: "batcher",
    schema: runBatch,
    async handle(message, ctx) {
      if (message.submission) await check({ ...message, submission: message.submission }, ctx);
      else await start(message, ctx);
    },
    // The host gave up on this message (its retries ran out): the run must not wait for ever.
    async onDeadLetter(raw, reason, ctx) {
      const parsed = runBatch.safeParse(raw);
      if (!parsed.success || parsed.data.type !== RUN_BATCH) return;
      ctx.log.error("giving up on the run's batch: it runs on demand", { reason });
      // Best effort: a batch still running would be paid for and never read.
      if (parsed.data.submission) {
        await deps.runner
          .stop({ runId: parsed.data.runId, jobs: parsed.data.submission.jobs })
          .catch((error: unknown) => ctx.log.warn("could not stop the run's batch jobs", { error }));
      }
      await publishRun({ runId: parsed.data.runId, jobs: [] }, ctx);
    },
  });
}
