import { randomUUID } from "node:crypto";
import type { Message, MessageAttributeValue, SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createLambdaHandler,
  defineConsumer,
  FAILURE_ATTRIBUTES,
  PermanentError,
  type ConsumerContext,
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
  type QueuePair,
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

/** What the SQS event source mapping hands Lambda, built from messages devcloud really delivered. */
function toRecord(message: Message, queue: QueuePair): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount!,
      SentTimestamp: attributes.SentTimestamp!,
      SenderId: attributes.SenderId ?? "000000000000",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? attributes.SentTimestamp!,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType!,
          stringValue: value.StringValue,
          binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString("base64") : undefined,
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody!,
    eventSource: "aws:sqs",
    eventSourceARN: queue.arn,
    awsRegion: cloud.devcloud.region,
  };
}

async function eventFrom(
  queue: QueuePair,
  bodies: { body: unknown; attributes?: Record<string, MessageAttributeValue> }[],
) {
  const ids = [];
  for (const { body, attributes } of bodies) ids.push(await send(sqs, queue.url, body, attributes));
  const received = await receiveAll(sqs, queue.url, bodies.length);
  expect(received).toHaveLength(bodies.length);
  const event: SQSEvent = { Records: received.map((message) => toRecord(message, queue)) };
  return { event, ids };
}

function lambdaContext(remainingMs = 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "quire-test",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:quire-test",
    memoryLimitInMB: "256",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/quire-test",
    logStreamName: "test",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** n decides: 0 succeeds, 1 fails transiently, 2 fails permanently. */
const behaviourByN = defineConsumer({
  name: "lambda-consumer",
  schema: testMessage,
  async handle(message: TestMessage, _ctx: ConsumerContext) {
    if (message.n === 1) throw new Error("model timed out");
    if (message.n === 2) throw new PermanentError("UNSUPPORTED_LANGUAGE", "cannot summarize Klingon");
  },
});

const dlqAttributes = (message: Message | undefined) =>
  Object.fromEntries(
    Object.entries(message?.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      value.StringValue ?? value.BinaryValue,
    ]),
  );

describe("Lambda host", () => {
  it("reports only transient failures in batchItemFailures and dead-letters permanent ones with their reason", async () => {
    const queue = await createQueuePair(sqs, "lambda");
    const binary = new Uint8Array([1, 2, 3]);
    const { event, ids } = await eventFrom(queue, [
      { body: { jobId: jobId(), n: 0 } },
      { body: { jobId: jobId(), n: 1 } },
      {
        body: { jobId: jobId(), n: 2 },
        attributes: {
          type: { DataType: "String", StringValue: "document.submitted" },
          blob: { DataType: "Binary", BinaryValue: binary },
        },
      },
      { body: { jobId: jobId(), n: "two" } },
    ]);
    const [, transientId, permanentId, invalidId] = ids;
    const handler = createLambdaHandler(behaviourByN, {
      deadLetterQueueUrl: queue.dlqUrl,
      sqs,
      log: memoryLogger().log,
    });

    const response = await handler(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: transientId }] });
    const dead = await receiveAll(sqs, queue.dlqUrl, 2);
    const bySource = new Map(
      dead.map((message) => [message.MessageAttributes?.[FAILURE_ATTRIBUTES.sourceMessageId]?.StringValue, message]),
    );
    expect(dlqAttributes(bySource.get(permanentId))).toEqual({
      [FAILURE_ATTRIBUTES.code]: "UNSUPPORTED_LANGUAGE",
      [FAILURE_ATTRIBUTES.message]: "cannot summarize Klingon",
      [FAILURE_ATTRIBUTES.sourceQueue]: queue.name,
      [FAILURE_ATTRIBUTES.sourceMessageId]: permanentId,
      [FAILURE_ATTRIBUTES.receiveCount]: "1",
      type: "document.submitted",
      blob: binary,
    });
    expect(bySource.get(permanentId)?.Body).toBe(event.Records[2]!.body);
    expect(bySource.get(invalidId)?.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue).toBe("SCHEMA_VIOLATION");
    expect(bySource.get(invalidId)?.MessageAttributes?.[FAILURE_ATTRIBUTES.message]?.StringValue).toMatch(/^n: /);
  });

  it("puts the request id, the X-Ray trace id and the cold start on every line an invocation logs", async () => {
    const queue = await createQueuePair(sqs, "lambda-log-context");
    const { lines, log } = memoryLogger();
    const handler = createLambdaHandler(behaviourByN, { deadLetterQueueUrl: queue.dlqUrl, sqs, log });
    const first = lambdaContext();
    const second = lambdaContext();
    process.env._X_AMZN_TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    try {
      await handler((await eventFrom(queue, [{ body: { jobId: jobId(), n: 0 } }])).event, first);
      await handler((await eventFrom(queue, [{ body: { jobId: jobId(), n: 0 } }])).event, second);
    } finally {
      delete process.env._X_AMZN_TRACE_ID;
    }
    const of = (context: Context) => lines.filter((line) => line.awsRequestId === context.awsRequestId);
    expect(of(first).length).toBeGreaterThan(0);
    expect(
      of(first).every((line) => line.coldStart === true && line.xrayTraceId === "1-5759e988-bd862e3fe1be46a994272793"),
    ).toBe(true);
    expect(of(second).every((line) => line.coldStart === false)).toBe(true);
  });

  it("returns a partial batch response naming every record when all fail transiently, rather than throwing", async () => {
    const queue = await createQueuePair(sqs, "lambda-all-fail");
    const { event, ids } = await eventFrom(queue, [
      { body: { jobId: jobId(), n: 1 } },
      { body: { jobId: jobId(), n: 1 } },
    ]);
    const handler = createLambdaHandler(behaviourByN, {
      deadLetterQueueUrl: queue.dlqUrl,
      sqs,
      log: memoryLogger().log,
    });

    const response = await handler(event, lambdaContext());

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([...ids].sort());
  });

  it("without a DLQ url reports a permanent failure for redelivery, leaving it to SQS's redrive policy", async () => {
    const queue = await createQueuePair(sqs, "lambda-no-dlq");
    const { event, ids } = await eventFrom(queue, [{ body: { jobId: jobId(), n: 2 } }]);
    const { log, lines } = memoryLogger();
    const handler = createLambdaHandler(behaviourByN, { sqs, log });

    const response = await handler(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: ids[0] }] });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "error",
        reason: { code: "UNSUPPORTED_LANGUAGE", message: "cannot summarize Klingon" },
      }),
    );
  });

  it("reports a permanent failure for redelivery when the dead-letter send fails", async () => {
    const queue = await createQueuePair(sqs, "lambda-dlq-down");
    const { event, ids } = await eventFrom(queue, [{ body: { jobId: jobId(), n: 2 } }]);
    const missingDlq = `${queue.dlqUrl}-missing`;
    const handler = createLambdaHandler(behaviourByN, { deadLetterQueueUrl: missingDlq, sqs, log: memoryLogger().log });

    const response = await handler(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: ids[0] }] });
  });

  it("aborts ctx.signal shortly before the invocation's deadline", async () => {
    const queue = await createQueuePair(sqs, "lambda-deadline");
    const { event, ids } = await eventFrom(queue, [{ body: { jobId: jobId(), n: 0 } }]);
    const patient = defineConsumer({
      name: "patient",
      schema: testMessage,
      async handle(_message, ctx) {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        throw new Error("gave up: Lambda is about to time out");
      },
    });
    const handler = createLambdaHandler(patient, { sqs, log: memoryLogger().log, abortBeforeTimeoutMs: 1000 });

    const started = Date.now();
    const response = await handler(event, lambdaContext(1200));

    expect(Date.now() - started).toBeLessThan(1000);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: ids[0] }] });
  });
  it("hides a transiently failed record for its retry delay (ChangeMessageVisibility) before reporting it, so it waits in the queue", async () => {
    const queue = await createQueuePair(sqs, "lambda-backoff", { visibilityTimeout: 1 });
    const { event, ids } = await eventFrom(queue, [{ body: { jobId: jobId(), n: 1 } }]);
    const handler = createLambdaHandler(behaviourByN, {
      queueUrl: queue.url,
      deadLetterQueueUrl: queue.dlqUrl,
      sqs,
      log: memoryLogger().log,
      redelivery: { baseDelaySeconds: 8, maxDelaySeconds: 8 },
    });

    const response = await handler(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: ids[0] }] });
    // The queue's own timeout (1 s) would have it back by now; the retry delay (4-8 s) holds it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 1 });
  });
});
