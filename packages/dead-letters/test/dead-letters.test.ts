import { randomUUID } from "node:crypto";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { FAILURE_ATTRIBUTES } from "@quire/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeadLetters, DeadLetterError, type QueuePair } from "../src/index.ts";

let devcloud: Devcloud;
let sqs: SQSClient;
beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, topology: false, log: () => {} });
  sqs = new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 });
});
afterAll(async () => {
  sqs?.destroy();
  await devcloud?.stop();
});

/** A work queue and its DLQ with a redrive policy, as the topology provisions them. */
async function queuePair(name = `q-${randomUUID().slice(0, 8)}`): Promise<QueuePair> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 5 }) },
    }),
  );
  return { name, queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}

/** A dead letter as Quire's hosts write it: the body as it was, the reason as attributes. */
async function deadLetter(pair: QueuePair, jobId: string, code: string) {
  const { MessageId } = await sqs.send(
    new SendMessageCommand({
      QueueUrl: pair.deadLetterQueueUrl,
      MessageBody: JSON.stringify({ jobId, type: "document.submitted" }),
      MessageAttributes: {
        [FAILURE_ATTRIBUTES.code]: { DataType: "String", StringValue: code },
        [FAILURE_ATTRIBUTES.message]: { DataType: "String", StringValue: `${code} for ${jobId}` },
        [FAILURE_ATTRIBUTES.receiveCount]: { DataType: "String", StringValue: "3" },
        type: { DataType: "String", StringValue: "document.submitted" },
      },
    }),
  );
  return MessageId!;
}

const depth = async (url: string) => {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(Attributes!.ApproximateNumberOfMessages),
    inFlight: Number(Attributes!.ApproximateNumberOfMessagesNotVisible),
  };
};

async function receiveAll(url: string, count: number, timeoutMs = 5000) {
  const got = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
      }),
    );
    got.push(...Messages);
  }
  return got;
}

describe("dead letters", () => {
  it("groups a queue's dead letters by failure code with counts and samples, and reading consumes nothing", async () => {
    const pair = await queuePair();
    await deadLetter(pair, "job_aaaaaaaaaa", "MODEL_OUTPUT_INVALID");
    await deadLetter(pair, "job_bbbbbbbbbb", "MODEL_OUTPUT_INVALID");
    await deadLetter(pair, "job_cccccccccc", "SCHEMA_VIOLATION");
    const letters = createDeadLetters({ sqs, queues: [pair] });

    const [summary] = await letters.summary();

    expect(summary).toMatchObject({ queue: pair.name, approximateCount: 3, scanned: 3, complete: true });
    expect(summary!.groups.map((group) => [group.code, group.count])).toEqual([
      ["MODEL_OUTPUT_INVALID", 2],
      ["SCHEMA_VIOLATION", 1],
    ]);
    expect(summary!.groups[1]!.samples[0]).toMatchObject({
      jobId: "job_cccccccccc",
      reason: { code: "SCHEMA_VIOLATION" },
      receiveCount: 3,
    });
    expect(await depth(pair.deadLetterQueueUrl)).toEqual({ visible: 3, inFlight: 0 });
  });

  it("shows one dead letter in full, and says when there is none", async () => {
    const pair = await queuePair();
    const id = await deadLetter(pair, "job_dddddddddd", "RETRY_BUDGET_EXHAUSTED");
    const letters = createDeadLetters({ sqs, queues: [pair] });

    expect(await letters.show(pair.name, id)).toMatchObject({
      messageId: id,
      jobId: "job_dddddddddd",
      reason: { code: "RETRY_BUDGET_EXHAUSTED", message: "RETRY_BUDGET_EXHAUSTED for job_dddddddddd" },
      body: JSON.stringify({ jobId: "job_dddddddddd", type: "document.submitted" }),
    });
    await expect(letters.show(pair.name, "no-such-id")).rejects.toMatchObject({ code: "DEAD_LETTER_NOT_FOUND" });
    await expect(letters.summary({ queue: "nope" })).rejects.toBeInstanceOf(DeadLetterError);
  });

  it("redrives one failure code back to the work queue, body and attributes (the reason too) intact, leaving the others", async () => {
    const pair = await queuePair();
    await deadLetter(pair, "job_eeeeeeeeee", "MODEL_OUTPUT_INVALID");
    await deadLetter(pair, "job_ffffffffff", "SCHEMA_VIOLATION");
    const letters = createDeadLetters({ sqs, queues: [pair] });

    expect(await letters.redrive({ queue: pair.name, code: "MODEL_OUTPUT_INVALID" })).toMatchObject({
      kind: "selected",
      moved: 1,
      scanned: 2,
    });

    const [back] = await receiveAll(pair.queueUrl, 1);
    expect(JSON.parse(back!.Body!)).toEqual({ jobId: "job_eeeeeeeeee", type: "document.submitted" });
    expect(back!.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue).toBe("MODEL_OUTPUT_INVALID");
    expect(back!.MessageAttributes?.type?.StringValue).toBe("document.submitted");
    expect(await depth(pair.deadLetterQueueUrl)).toEqual({ visible: 1, inFlight: 0 });
  });

  it("redrives a whole queue with a message move task to the work queue and reports its progress", async () => {
    const pair = await queuePair();
    for (const n of [1, 2, 3]) await deadLetter(pair, `job_gggggggg0${n}`, "MODEL_OUTPUT_INVALID");
    const letters = createDeadLetters({ sqs, queues: [pair] });

    const started = await letters.redrive({ queue: pair.name });
    expect(started).toMatchObject({ kind: "move-task", queue: pair.name, taskHandle: expect.any(String) });

    expect(await receiveAll(pair.queueUrl, 3)).toHaveLength(3);
    const [task] = await letters.tasks(pair.name);
    expect(task).toMatchObject({ status: "COMPLETED", moved: 3 });
  });

  it("refuses a second whole-queue redrive while one runs", async () => {
    const pair = await queuePair();
    for (const n of [1, 2, 3, 4, 5]) await deadLetter(pair, `job_hhhhhhhh0${n}`, "MODEL_OUTPUT_INVALID");
    const letters = createDeadLetters({ sqs, queues: [pair] });
    const { taskHandle } = (await letters.redrive({ queue: pair.name, maxPerSecond: 1 })) as { taskHandle: string };

    await expect(letters.redrive({ queue: pair.name })).rejects.toMatchObject({ code: "REDRIVE_IN_PROGRESS" });
    await letters.cancel(taskHandle);
  });
});
