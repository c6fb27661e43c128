import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineConsumer, startLocalRunner, type ConsumerContext, type LocalRunnerOptions } from "../src/index.ts";
import {
  createQueuePair,
  jobId,
  memoryLogger,
  queueDepth,
  receiveAll,
  send,
  startTestCloud,
  testMessage,
  waitFor,
  type TestMessage,
} from "./support/devcloud.ts";

let cloud: Awaited<ReturnType<typeof startTestCloud>>;
let sqs: SQSClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  sqs = cloud.sqs;
});
afterAll(async () => {
  await cloud?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(
  handle: (message: TestMessage, ctx: ConsumerContext) => Promise<void>,
  options: Partial<LocalRunnerOptions> & { queueUrl: string },
) {
  const consumer = defineConsumer({ name: "slow-consumer", schema: testMessage, handle });
  return startLocalRunner(consumer, { sqs, waitTimeSeconds: 1, log: memoryLogger().log, ...options });
}

describe("local runner heartbeats and shutdown", () => {
  it("heartbeats keep a slow handler's message invisible past the queue's visibility timeout", async () => {
    const queue = await createQueuePair(sqs, "heartbeat", { visibilityTimeout: 2 });
    const messageId = await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    const deliveries: string[] = [];

    // Two slots, so a redelivery would be picked up by this very runner while the first run sleeps.
    const runner = run(
      async (_message, ctx) => {
        deliveries.push(ctx.messageId);
        await sleep(5000);
      },
      { queueUrl: queue.url, concurrency: 2 },
    );
    await waitFor(() => runner.stats.succeeded === 1, 8000, "the slow handler to finish");
    await runner.stop();

    expect(deliveries).toEqual([messageId]);
    expect(runner.stats.received).toBe(1);
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("stop() aborts handlers still running after the grace period and releases their messages for immediate redelivery", async () => {
    const queue = await createQueuePair(sqs, "release", { visibilityTimeout: 60 });
    const messageId = await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    let signal: AbortSignal | undefined;

    const runner = run(
      async (_message, ctx) => {
        signal = ctx.signal;
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        throw ctx.signal.reason;
      },
      { queueUrl: queue.url, shutdownGraceMs: 200 },
    );
    await waitFor(() => signal !== undefined, 5000, "the handler to start");
    await runner.stop();

    expect(signal?.aborted).toBe(true);
    // Visible again at once, not after the 60 s visibility timeout.
    const [again] = await receiveAll(sqs, queue.url, 1, 1500);
    expect(again?.MessageId).toBe(messageId);
    // 2, or 3 when the runner's own pending long poll caught the released message and handed it back again.
    expect(Number(again?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(2);
    expect(runner.stats).toMatchObject({ succeeded: 0, failed: 0, inFlight: 0 });
  });

  it("stop() waits for handlers that finish within the grace period and deletes their messages", async () => {
    const queue = await createQueuePair(sqs, "drain");
    await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    let started = false;
    let aborted = false;

    const runner = run(
      async (_message, ctx) => {
        started = true;
        await sleep(500);
        aborted = ctx.signal.aborted;
      },
      { queueUrl: queue.url, shutdownGraceMs: 5000 },
    );
    await waitFor(() => started, 5000, "the handler to start");
    await runner.stop();

    expect(aborted).toBe(false);
    expect(runner.stats).toMatchObject({ succeeded: 1, inFlight: 0 });
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("stop() hands back, unhandled, messages that a pending long poll returns after stop was called", async () => {
    const queue = await createQueuePair(sqs, "late", { visibilityTimeout: 60 });
    let calls = 0;
    const runner = run(async () => void calls++, { queueUrl: queue.url });
    // Let the runner get into its (empty) long poll, then stop and send while the poll is pending.
    await sleep(300);
    const stopped = runner.stop();
    await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    await stopped;

    expect(calls).toBe(0);
    // Handed back at once (by the runner, or by devcloud for the poll the runner cut), not after 60 s.
    await waitFor(async () => (await queueDepth(sqs, queue.url)).visible === 1, 2000, "the message to be visible");
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 1, inFlight: 0 });
  });

  it("an idle runner's stop() resolves in well under its long poll's wait time", async () => {
    const queue = await createQueuePair(sqs, "idle-stop", { visibilityTimeout: 60 });
    const runner = run(async () => {}, { queueUrl: queue.url, waitTimeSeconds: 20 });
    await waitFor(() => runner.state === "polling", 5000, "the runner to poll");
    await sleep(300); // inside its 20 s long poll
    const started = performance.now();
    await runner.stop();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(runner.state).toBe("stopped");
  });

  it("a message sent after an idle runner stopped is not stranded by the poll it cut: visible at once, not after the visibility timeout", async () => {
    const queue = await createQueuePair(sqs, "cut-poll", { visibilityTimeout: 60 });
    let calls = 0;
    const runner = run(async () => void calls++, { queueUrl: queue.url, waitTimeSeconds: 20 });
    await waitFor(() => runner.state === "polling", 5000, "the runner to poll");
    await sleep(300);
    await runner.stop();
    // SQS may still hand this to the poll whose caller hung up; devcloud gives it back at once.
    const messageId = await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    const [message] = await receiveAll(sqs, queue.url, 1, 2000);
    expect(message?.MessageId).toBe(messageId);
    expect(calls).toBe(0);
  });

  it("reports its state: starting, polling, stopping, stopped", async () => {
    const queue = await createQueuePair(sqs, "states");
    const runner = run(async () => {}, { queueUrl: queue.url, waitTimeSeconds: 20 });
    expect(runner.state).toBe("starting");
    await waitFor(() => runner.state === "polling", 5000, "the runner to poll");
    const stopped = runner.stop();
    expect(runner.state).toBe("stopping");
    await stopped;
    expect(runner.state).toBe("stopped");
    expect(runner.stats.receiveFailures).toBe(0);
  });
});
