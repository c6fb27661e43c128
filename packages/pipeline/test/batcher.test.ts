/**
 * The batcher's decisions, with a stand-in runner and SQS: every way out of a batch ends with the
 * run published to its stages. (The whole path on devcloud: tests/e2e batch-inference.test.ts.)
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { RUN_BATCH, SCHEMA_VERSION, type RunBatch } from "@quire/contracts";
import { createLogger, type ConsumerContext } from "@quire/runtime";
import { describe, expect, it } from "vitest";
import { batchTimeoutHours, type BatchCheck, type BatchSubmission } from "../src/batch-runner.ts";
import { createBatcher, MAX_DELAY_SECONDS } from "../src/batcher.ts";

const NOW = Date.parse("2026-12-02T12:00:00.000Z");
const RUN = "run_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7";
const JOBS = [
  { stage: "summary" as const, jobArn: "arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/a" },
  { stage: "classification" as const, jobArn: "arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/b" },
];
const published: BatchCheck = { state: "published", cached: 10, refused: 0, published: 5, failedToPublish: [] };

const context = (): ConsumerContext => ({
  messageId: "m",
  receiveCount: 1,
  queueName: "quire-batcher",
  signal: new AbortController().signal,
  log: createLogger({}, () => {}),
});

const awsError = (name: string, fault: "client" | "server") => Object.assign(new Error(name), { name, $fault: fault });

function harness(
  runner: {
    submit?: (runId: string, options?: { fallbackAt?: string | undefined }) => Promise<BatchSubmission>;
    check?: (submission: BatchSubmission) => Promise<BatchCheck>;
  },
  pollSeconds = 60,
) {
  const calls = {
    checks: [] as BatchSubmission[],
    stops: [] as BatchSubmission[],
    sent: [] as { body: RunBatch; delay: number }[],
  };
  const batcher = createBatcher({
    runner: {
      submit: runner.submit ?? (async (runId) => ({ runId, jobs: JOBS })),
      check: async (submission) => {
        calls.checks.push(submission);
        return runner.check ? runner.check(submission) : published;
      },
      stop: async (submission) => {
        calls.stops.push(submission);
      },
    },
    sqs: {
      send: async (command: { input: { MessageBody: string; DelaySeconds: number } }) => {
        calls.sent.push({ body: JSON.parse(command.input.MessageBody), delay: command.input.DelaySeconds });
        return {};
      },
    } as unknown as SQSClient,
    queueUrl: "http://queue/batcher",
    pollSeconds,
    now: () => NOW,
  });
  return { batcher, calls };
}

const request = (fields: Partial<RunBatch> = {}): RunBatch => ({
  schemaVersion: SCHEMA_VERSION,
  type: RUN_BATCH,
  runId: RUN,
  ...fields,
});

describe("the batcher", () => {
  it("starts the run's batch jobs with its fallback time, from which their timeout is set", async () => {
    const asked: unknown[] = [];
    const fallbackAt = new Date(NOW + 30 * 3_600_000).toISOString();
    const { batcher } = harness({
      submit: async (runId, options) => {
        asked.push(options);
        return { runId, jobs: JOBS };
      },
    });
    await batcher.handle(request({ fallbackAt }), context());
    expect(asked).toEqual([{ fallbackAt }]);
  });

  it("a batch job's timeout is the hours until the fallback, within AWS's 24 to 168", () => {
    const inHours = (hours: number) => new Date(NOW + hours * 3_600_000).toISOString();
    expect(batchTimeoutHours(inHours(30), NOW)).toBe(30);
    expect(batchTimeoutHours(inHours(29.2), NOW)).toBe(30);
    expect(batchTimeoutHours(inHours(3), NOW)).toBe(24);
    expect(batchTimeoutHours(inHours(400), NOW)).toBe(168);
  });

  it("starts the run's batch jobs and schedules their first check one poll later", async () => {
    const { batcher, calls } = harness({});
    await batcher.handle(request(), context());
    expect(calls.sent).toEqual([{ body: request({ submission: { jobs: JOBS } }), delay: 60 }]);
    expect(calls.checks).toEqual([]);
  });

  it("checks no later than the run's fallback time", async () => {
    const { batcher, calls } = harness({ check: async () => ({ state: "running", statuses: ["InProgress"] }) });
    const fallbackAt = new Date(NOW + 20_000).toISOString();
    await batcher.handle(request({ submission: { jobs: JOBS }, fallbackAt }), context());
    expect(calls.sent.map((sent) => sent.delay)).toEqual([20]);
  });

  it("never asks SQS for a delay past its 15 minutes", async () => {
    const { batcher, calls } = harness({ check: async () => ({ state: "running", statuses: ["Scheduled"] }) }, 3600);
    await batcher.handle(request({ submission: { jobs: JOBS } }), context());
    expect(calls.sent[0]!.delay).toBe(MAX_DELAY_SECONDS);
  });

  it("at the fallback time, stops the batch jobs, then checks them again until they have ended", async () => {
    const { batcher, calls } = harness({ check: async () => ({ state: "running", statuses: ["Stopping"] }) });
    const due = request({ submission: { jobs: JOBS }, fallbackAt: new Date(NOW - 1).toISOString() });
    await batcher.handle(due, context());
    expect(calls.stops).toEqual([{ runId: RUN, jobs: JOBS }]);
    expect(calls.sent).toEqual([{ body: { ...due, stopRequested: true }, delay: 5 }]);
    // The next check does not stop them again: it waits for them to end.
    await batcher.handle(calls.sent[0]!.body, context());
    expect(calls.stops).toHaveLength(1);
    expect(calls.checks).toHaveLength(1);
  });

  it("publishes the run on demand when Bedrock refuses the batch for good (no access, a bad role)", async () => {
    const { batcher, calls } = harness({
      submit: async () => {
        throw awsError("AccessDeniedException", "client");
      },
    });
    await batcher.handle(request(), context());
    expect(calls.checks).toEqual([{ runId: RUN, jobs: [] }]);
    expect(calls.sent).toEqual([]);
  });

  it("leaves a throttled or failed start to the queue's retries (the same jobs, by their client tokens)", async () => {
    for (const error of [
      awsError("ThrottlingException", "client"),
      awsError("ServiceQuotaExceededException", "client"),
      awsError("InternalServerException", "server"),
    ]) {
      const { batcher, calls } = harness({
        submit: async () => {
          throw error;
        },
      });
      await expect(batcher.handle(request(), context())).rejects.toBe(error);
      expect(calls.checks).toEqual([]);
    }
  });

  it("publishes at once a run too small for a batch job", async () => {
    const { batcher, calls } = harness({ submit: async (runId) => ({ runId, jobs: [] }) });
    await batcher.handle(request(), context());
    expect(calls.checks).toEqual([{ runId: RUN, jobs: [] }]);
  });

  it("publishes on demand a run whose fallback time came before its batch could start", async () => {
    let submitted = false;
    const { batcher, calls } = harness({
      submit: async (runId) => {
        submitted = true;
        return { runId, jobs: JOBS };
      },
    });
    await batcher.handle(request({ fallbackAt: new Date(NOW - 1).toISOString() }), context());
    expect(submitted).toBe(false);
    expect(calls.checks).toEqual([{ runId: RUN, jobs: [] }]);
  });

  it("fails the message (for the queue to retry) while some of the run's documents could not be published", async () => {
    const { batcher } = harness({
      check: async () => ({ ...published, failedToPublish: [{ jobId: "job_1", reason: "SNS is down" }] }),
    });
    await expect(batcher.handle(request({ submission: { jobs: JOBS } }), context())).rejects.toThrow("SNS is down");
  });

  it("when the host gives up on the message, stops its batch jobs and publishes the run on demand", async () => {
    const { batcher, calls } = harness({});
    await batcher.onDeadLetter!(
      request({ submission: { jobs: JOBS } }),
      { code: "RETRY_BUDGET_EXHAUSTED", message: "gave up" },
      context(),
    );
    expect(calls.stops).toEqual([{ runId: RUN, jobs: JOBS }]);
    expect(calls.checks).toEqual([{ runId: RUN, jobs: [] }]);
  });
});
