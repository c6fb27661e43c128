import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
  type Message,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

/**
 * Issue 11, "nothing lost": with a data dir (the default of `npm start`), a message released
 * with ChangeMessageVisibility(0) must go back on the queue, keep its receive count, and
 * survive a restart — as it does in memory and on AWS.
 */
describe("SQS visibility changes with a data dir", () => {
  const dir = temporaryDirectory("quire-visibility");
  let devcloud: Devcloud | undefined;
  let sqs: SQSClient;

  const start = async () => {
    devcloud = await startTestDevcloud({ dataDir: dir.path, topology: false });
    // No SDK retries: a failed call must show as failed, not be papered over by a retry.
    sqs = new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 });
    return devcloud;
  };
  const stop = async () => {
    await devcloud?.stop();
    devcloud = undefined;
  };

  beforeAll(start);
  afterAll(async () => {
    await stop();
    dir.remove();
  });

  async function queue(name: string, visibilityTimeout = 30) {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(visibilityTimeout) } }),
    );
    return QueueUrl!;
  }

  async function receiveOne(QueueUrl: string, waitSeconds = 1): Promise<Message | undefined> {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    return Messages[0];
  }

  async function depth(QueueUrl: string) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    };
  }

  it("ChangeMessageVisibility(0) puts the message back: same message, receive count 2, depth 1, kept across a restart", async () => {
    const url = await queue("release-one");
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "doc-1" }));
    const first = await receiveOne(url);
    expect(first?.MessageId).toBe(MessageId);
    expect(first?.Attributes?.ApproximateReceiveCount).toBe("1");

    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 0 }),
    );
    expect(await depth(url)).toEqual({ visible: 1, inFlight: 0 });

    // Released, then devcloud restarts on the same data dir: the message is still queued.
    await stop();
    await start();
    expect(await depth(url)).toEqual({ visible: 1, inFlight: 0 });
    const again = await receiveOne(url);
    expect(again?.MessageId).toBe(MessageId);
    expect(again?.Body).toBe("doc-1");
    expect(again?.Attributes?.ApproximateReceiveCount).toBe("2");
  });

  it("ChangeMessageVisibilityBatch with 0 releases every entry, and the releases persist", async () => {
    const url = await queue("release-batch");
    for (const body of ["a", "b"]) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(Messages).toHaveLength(2);

    const { Successful = [], Failed = [] } = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: Messages.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
    expect(Failed).toEqual([]);
    expect(Successful.map((s) => s.Id).sort()).toEqual(["m0", "m1"]);
    expect(await depth(url)).toEqual({ visible: 2, inFlight: 0 });

    await stop();
    await start();
    const { Messages: again = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    expect(again.map((m) => m.Body).sort()).toEqual(["a", "b"]);
    expect(again.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(["2", "2"]);
  });

  it("a non-zero ChangeMessageVisibility keeps the message hidden for the new timeout, across a restart", async () => {
    const url = await queue("extend", 1);
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "slow" }));
    const first = await receiveOne(url);
    // Extend from the queue's 1 s to 3 s; a restart must not make it visible early or lose it.
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 3 }),
    );
    const extendedAt = Date.now();
    await stop();
    await start();
    expect(await depth(url)).toEqual({ visible: 0, inFlight: 1 });
    expect(await receiveOne(url, 0)).toBeUndefined();

    let again: Message | undefined;
    while (!again && Date.now() - extendedAt < 8000) again = await receiveOne(url);
    expect(Date.now() - extendedAt).toBeGreaterThanOrEqual(2900);
    expect(again?.MessageId).toBe(MessageId);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe("2");
  });
});
