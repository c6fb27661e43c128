import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  defineConsumer,
  FAILURE_ATTRIBUTES,
  PermanentError,
  startLocalRunner,
  type ConsumerContext,
  type LocalRunner,
  type LocalRunnerOptions,
} from "../src/index.ts";
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
const runners: LocalRunner[] = [];

beforeAll(async () => {
  cloud = await startTestCloud();
  sqs = cloud.sqs;
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});
afterAll(async () => {
  await cloud?.stop();
});

function run(
  handle: (message: TestMessage, ctx: ConsumerContext) => Promise<void>,
  options: Partial<LocalRunnerOptions> & { queueUrl: string },
) {
  const consumer = defineConsumer({ name: "test-consumer", schema: testMessage, handle });
  const runner = startLocalRunner(consumer, { sqs, waitTimeSeconds: 1, log: memoryLogger().log, ...options });
  runners.push(runner);
  return runner;
}

describe("local runner", () => {
  it("hands each message to the handler, parsed, and deletes it once handled", async () => {
    const queue = await createQueuePair(sqs, "processes");
    const sent = [
      { jobId: jobId(), n: 1 },
      { jobId: jobId(), n: 2 },
      { jobId: jobId(), n: 3 },
    ];
    const ids = await Promise.all(sent.map((body) => send(sqs, queue.url, body)));
    const seen: { message: TestMessage; ctx: ConsumerContext }[] = [];

    const runner = run(async (message, ctx) => void seen.push({ message, ctx }), { queueUrl: queue.url });
    await waitFor(() => runner.stats.succeeded === 3, 5000, "three messages handled");
    await runner.stop();

    expect(seen.map((s) => s.message).sort((a, b) => a.n - b.n)).toEqual(sent);
    expect(seen.map((s) => s.ctx.messageId).sort()).toEqual([...ids].sort());
    expect(seen.every((s) => s.ctx.receiveCount === 1 && s.ctx.queueName === queue.name)).toBe(true);
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
    expect(runner.stats).toMatchObject({ received: 3, succeeded: 3, failed: 0, deadLettered: 0, inFlight: 0 });
  });

  it("receives no more than the admission allows: the rest stay on the queue, visible, until capacity returns", async () => {
    const queue = await createQueuePair(sqs, "admission");
    for (let n = 1; n <= 5; n++) await send(sqs, queue.url, { jobId: jobId(), n });
    let capacity = 2;
    let opened: (() => void) | undefined;
    const admission = {
      free: () => capacity,
      taken: (count: number) => {
        capacity -= count;
      },
      wait: (signal: AbortSignal) =>
        new Promise<void>((resolve, reject) => {
          opened = resolve;
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
    };
    const release: (() => void)[] = [];
    const runner = run(
      async () => {
        await new Promise<void>((resolve) => release.push(resolve));
      },
      { queueUrl: queue.url, concurrency: 10, admission },
    );
    await waitFor(() => runner.stats.inFlight === 2, 5000, "two messages started");
    await new Promise((r) => setTimeout(r, 300));
    expect(runner.stats.received).toBe(2);
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 3, inFlight: 2 });

    capacity = 3;
    opened?.();
    await waitFor(() => runner.stats.received === 5, 5000, "the other three received once capacity returned");
    for (const r of release) r();
    await waitFor(() => runner.stats.succeeded === 5, 5000, "all handled");
  });

  it("redelivers a message whose handler failed transiently, soon, and then succeeds", async () => {
    const queue = await createQueuePair(sqs, "transient", { visibilityTimeout: 30 });
    await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    const attempts: number[] = [];

    const started = Date.now();
    const runner = run(
      async (_message, ctx) => {
        attempts.push(ctx.receiveCount);
        if (ctx.receiveCount === 1) throw new Error("Bedrock throttled");
      },
      { queueUrl: queue.url },
    );
    await waitFor(() => runner.stats.succeeded === 1, 6000, "the retry to succeed");

    expect(attempts).toEqual([1, 2]);
    // The retry backoff (1-2 s on the first failure), not the queue's 30 s visibility timeout.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(runner.stats).toMatchObject({ failed: 1, succeeded: 1, deadLettered: 0 });
    await runner.stop();
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("dead-letters a PermanentError with its reason and deletes it from the source queue", async () => {
    const queue = await createQueuePair(sqs, "permanent");
    const body = JSON.stringify({ jobId: jobId(), n: 7 });
    const messageId = await send(sqs, queue.url, body, {
      type: { DataType: "String", StringValue: "document.submitted" },
    });
    let calls = 0;

    const runner = run(
      async () => {
        calls++;
        throw new PermanentError("DOCUMENT_TOO_LARGE", "the document exceeds the model's context window");
      },
      { queueUrl: queue.url, deadLetterQueueUrl: queue.dlqUrl },
    );
    await waitFor(() => runner.stats.deadLettered === 1, 5000, "the message to be dead-lettered");
    await runner.stop();

    const [dead] = await receiveAll(sqs, queue.dlqUrl, 1);
    expect(dead?.Body).toBe(body);
    const attributes = Object.fromEntries(
      Object.entries(dead!.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
    );
    expect(attributes).toEqual({
      [FAILURE_ATTRIBUTES.code]: "DOCUMENT_TOO_LARGE",
      [FAILURE_ATTRIBUTES.message]: "the document exceeds the model's context window",
      [FAILURE_ATTRIBUTES.sourceQueue]: queue.name,
      [FAILURE_ATTRIBUTES.sourceMessageId]: messageId,
      [FAILURE_ATTRIBUTES.receiveCount]: "1",
      type: "document.submitted",
    });
    expect(calls).toBe(1);
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("dead-letters the last delivery maxReceiveCount allows as RETRIES_EXHAUSTED with the last error, telling onDeadLetter", async () => {
    const queue = await createQueuePair(sqs, "exhausted", { maxReceiveCount: 2 });
    const id = jobId();
    await send(sqs, queue.url, { jobId: id, n: 1 });
    const gaveUp: { raw: unknown; code: string }[] = [];
    const consumer = defineConsumer({
      name: "test-consumer",
      schema: testMessage,
      handle: async () => {
        throw new Error("Bedrock is down");
      },
      onDeadLetter: async (raw, reason) => void gaveUp.push({ raw, code: reason.code }),
    });
    const runner = startLocalRunner(consumer, {
      sqs,
      queueUrl: queue.url,
      deadLetterQueueUrl: queue.dlqUrl,
      waitTimeSeconds: 1,
      retryDelaySeconds: () => 0,
      log: memoryLogger().log,
    });
    runners.push(runner);
    await waitFor(() => runner.stats.deadLettered === 1, 8000, "the message to be dead-lettered");
    await runner.stop();

    expect(runner.stats.failed).toBe(1);
    expect(gaveUp).toEqual([{ raw: { jobId: id, n: 1 }, code: "RETRIES_EXHAUSTED" }]);
    const [dead] = await receiveAll(sqs, queue.dlqUrl, 1);
    expect(dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue).toBe("RETRIES_EXHAUSTED");
    expect(dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.message]?.StringValue).toMatch(
      /all 2 deliveries; last error: Bedrock is down/,
    );
  });

  it("keeps retrying a message that fails transiently more times than the old maxReceiveCount of 5, each after its retry delay, until it succeeds", async () => {
    const queue = await createQueuePair(sqs, "transient-storm", { maxReceiveCount: 50 });
    await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    const deliveries: number[] = [];
    const runner = run(
      async () => {
        deliveries.push(Date.now());
        if (deliveries.length <= 6) throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      },
      {
        queueUrl: queue.url,
        deadLetterQueueUrl: queue.dlqUrl,
        redelivery: { baseDelaySeconds: 1, maxDelaySeconds: 1 },
      },
    );
    await waitFor(() => runner.stats.succeeded === 1, 20_000, "the seventh delivery to succeed");

    expect(runner.stats).toMatchObject({ failed: 6, deadLettered: 0 });
    // Each retry waited out its delay (1 s here) in the queue rather than coming straight back.
    const gaps = deliveries.slice(1).map((at, i) => at - deliveries[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
    expect(await queueDepth(sqs, queue.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("dead-letters a message still failing transiently past its age budget as RETRY_BUDGET_EXHAUSTED", async () => {
    const queue = await createQueuePair(sqs, "age-budget", { maxReceiveCount: 50 });
    await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    const runner = run(
      async () => {
        throw new Error("ServiceUnavailableException");
      },
      {
        queueUrl: queue.url,
        deadLetterQueueUrl: queue.dlqUrl,
        redelivery: { baseDelaySeconds: 0.5, maxDelaySeconds: 1, maxAgeSeconds: 3 },
      },
    );
    await waitFor(() => runner.stats.deadLettered === 1, 15_000, "the message to be dead-lettered");

    const [dead] = await receiveAll(sqs, queue.dlqUrl, 1);
    expect(dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue).toBe("RETRY_BUDGET_EXHAUSTED");
    expect(dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.message]?.StringValue).toMatch(
      /last error: ServiceUnavailableException/,
    );
    expect(runner.stats.failed).toBeGreaterThanOrEqual(2);
  });

  it("tells the handler a redriven message's previous failure (the quire.failure.* attributes its dead-lettering added)", async () => {
    const queue = await createQueuePair(sqs, "redriven");
    await send(
      sqs,
      queue.url,
      { jobId: jobId(), n: 1 },
      {
        [FAILURE_ATTRIBUTES.code]: { DataType: "String", StringValue: "MODEL_REQUEST_INVALID" },
        [FAILURE_ATTRIBUTES.message]: { DataType: "String", StringValue: "AccessDeniedException" },
      },
    );
    await send(sqs, queue.url, { jobId: jobId(), n: 2 });
    const seen = new Map<number, unknown>();
    const runner = run(async (message, ctx) => void seen.set(message.n, ctx.previousFailure), { queueUrl: queue.url });
    await waitFor(() => runner.stats.succeeded === 2, 5000, "both handled");

    expect(seen.get(1)).toEqual({ code: "MODEL_REQUEST_INVALID", message: "AccessDeniedException" });
    expect(seen.get(2)).toBeUndefined();
  });

  it("dead-letters a schema violation as SCHEMA_VIOLATION naming the failing fields, without calling the handler", async () => {
    const queue = await createQueuePair(sqs, "schema");
    await send(sqs, queue.url, { jobId: "not-a-job-id", n: "seven" });
    let calls = 0;

    const runner = run(async () => void calls++, { queueUrl: queue.url, deadLetterQueueUrl: queue.dlqUrl });
    await waitFor(() => runner.stats.deadLettered === 1, 5000, "the message to be dead-lettered");
    await runner.stop();

    const [dead] = await receiveAll(sqs, queue.dlqUrl, 1);
    expect(dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue).toBe("SCHEMA_VIOLATION");
    const reason = dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.message]?.StringValue;
    expect(reason).toMatch(/^jobId: /);
    expect(reason).toMatch(/; n: /);
    expect(calls).toBe(0);
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("dead-letters a body that is not JSON as MALFORMED_MESSAGE", async () => {
    const queue = await createQueuePair(sqs, "malformed");
    await send(sqs, queue.url, "{not json");

    const runner = run(async () => {}, { queueUrl: queue.url, deadLetterQueueUrl: queue.dlqUrl });
    await waitFor(() => runner.stats.deadLettered === 1, 5000, "the message to be dead-lettered");

    const [dead] = await receiveAll(sqs, queue.dlqUrl, 1);
    expect(dead?.Body).toBe("{not json");
    expect(dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue).toBe("MALFORMED_MESSAGE");
  });

  it("keeps as many original attributes on a dead letter as fit in SQS's limit of 10", async () => {
    const queue = await createQueuePair(sqs, "attributes");
    const original = Object.fromEntries(
      Array.from({ length: 7 }, (_, i) => [`attr${i}`, { DataType: "String", StringValue: `v${i}` }]),
    );
    await send(sqs, queue.url, { jobId: jobId(), n: 1 }, original);

    const runner = run(
      async () => {
        throw new PermanentError("UNSUPPORTED", "no");
      },
      { queueUrl: queue.url, deadLetterQueueUrl: queue.dlqUrl },
    );
    await waitFor(() => runner.stats.deadLettered === 1, 5000, "the message to be dead-lettered");

    const [dead] = await receiveAll(sqs, queue.dlqUrl, 1);
    const names = Object.keys(dead?.MessageAttributes ?? {});
    expect(names).toHaveLength(10);
    expect(names).toEqual(expect.arrayContaining(Object.values(FAILURE_ATTRIBUTES)));
    expect(names.filter((name) => name.startsWith("attr"))).toHaveLength(5);
  });

  it("without a DLQ url leaves a permanent failure on the queue for SQS's redrive policy", async () => {
    const queue = await createQueuePair(sqs, "no-dlq", { maxReceiveCount: 1 });
    await send(sqs, queue.url, { jobId: jobId(), n: 1 });
    const { log, lines } = memoryLogger();
    let calls = 0;

    const runner = run(
      async () => {
        calls++;
        throw new PermanentError("UNSUPPORTED", "no");
      },
      { queueUrl: queue.url, log, retryDelaySeconds: () => 0 },
    );
    // Redelivered at once (retry delay 0), over maxReceiveCount 1: SQS moves it, without our reason.
    const [dead] = await receiveAll(sqs, queue.dlqUrl, 1, 5000);

    expect(dead?.MessageAttributes?.[FAILURE_ATTRIBUTES.code]).toBeUndefined();
    expect(calls).toBe(1);
    expect(runner.stats).toMatchObject({ failed: 1, deadLettered: 0 });
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "error", reason: { code: "UNSUPPORTED", message: "no" } }),
    );
  });

  it("never runs more than `concurrency` handlers and never receives more messages than it has free slots", async () => {
    const queue = await createQueuePair(sqs, "concurrency");
    await Promise.all(Array.from({ length: 10 }, (_, n) => send(sqs, queue.url, { jobId: jobId(), n })));

    // A client of its own, to watch exactly what the runner asks SQS for.
    const watched = new SQSClient({ ...cloud.devcloud.clientConfig, maxAttempts: 1 });
    const receives: { asked: number; runningBefore: number; got: number }[] = [];
    let runner: LocalRunner | undefined;
    watched.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "ReceiveMessageCommand") {
          const asked = (args.input as { MaxNumberOfMessages: number }).MaxNumberOfMessages;
          const got = (result.output as { Messages?: unknown[] }).Messages?.length ?? 0;
          receives.push({ asked, runningBefore: runner?.stats.inFlight ?? 0, got });
        }
        return result;
      },
      { step: "initialize" },
    );

    let running = 0;
    let maxRunning = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    runner = run(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await gate;
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
      },
      { queueUrl: queue.url, sqs: watched, concurrency: 3 },
    );

    await waitFor(() => running === 3, 5000, "three handlers running");
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The other seven were never received: still visible, no visibility time spent on them.
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 7, inFlight: 3 });
    expect(runner.stats.received).toBe(3);

    open();
    await waitFor(() => runner.stats.succeeded === 10, 5000, "all ten handled");
    await runner.stop();
    watched.destroy();

    expect(maxRunning).toBe(3);
    expect(receives.every((r) => r.asked <= 3 && r.got <= r.asked)).toBe(true);
    expect(receives.every((r) => r.runningBefore + r.asked <= 3)).toBe(true);
  });

  it("keeps polling through receive errors and picks up messages once the queue is back", async () => {
    const existing = await createQueuePair(sqs, "later");
    const name = `${existing.name}-b`;
    const queueUrl = existing.url.replace(existing.name, name);
    const { log, lines } = memoryLogger();

    const runner = run(async () => {}, { queueUrl, log });
    await waitFor(() => lines.some((line) => line.level === "warn"), 3000, "a failed call to be logged");

    await sqs.send(new CreateQueueCommand({ QueueName: name }));
    await send(sqs, queueUrl, { jobId: jobId(), n: 1 });
    await waitFor(() => runner.stats.succeeded === 1, 8000, "the message to be handled");
  });

  it("logs JSON lines carrying the consumer name, messageId and the message's jobId", async () => {
    const queue = await createQueuePair(sqs, "logs");
    const id = jobId();
    const messageId = await send(sqs, queue.url, { jobId: id, n: 1 });
    const { log, lines } = memoryLogger();

    const runner = run(async (_message, ctx) => ctx.log.info("summarizing", { chars: 42 }), {
      queueUrl: queue.url,
      log,
    });
    await waitFor(() => runner.stats.succeeded === 1, 5000, "the message to be handled");

    const correlated = { consumer: "test-consumer", messageId, jobId: id, queue: queue.name };
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "info", msg: "summarizing", chars: 42, ...correlated }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ level: "info", msg: "message handled", ...correlated }));
  });
});
