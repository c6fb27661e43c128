import {
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  ResourceNotFoundException,
  SQSClient,
  SendMessageBatchCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  UnsupportedOperation,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type MessageAttributeValue,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { receiveAll, startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

/**
 * Issue 13 ("DLQ redrive, end to end"): SQS message move tasks and ListDeadLetterSourceQueues
 * through the real SDK v3 SQSClient, answered as AWS answers them (fauxqs alone says
 * InvalidAction to all four).
 */
describe("SQS DLQ redrive (message move tasks)", () => {
  let devcloud: Devcloud;
  let sqs: SQSClient;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    // No retries: a refusal must surface as the first answer's error.
    sqs = new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 });
  });
  afterAll(() => devcloud.stop());

  const attributes: Record<string, MessageAttributeValue> = {
    kind: { DataType: "String", StringValue: "invoice" },
    attempt: { DataType: "Number", StringValue: "3" },
    blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) },
  };

  it("ListDeadLetterSourceQueues lists the queues whose RedrivePolicy targets the DLQ, paged", async () => {
    const dlq = await queue(sqs, "sources-dlq");
    const [a, b, c] = await Promise.all(
      ["sources-a", "sources-b", "sources-c"].map((name) => sourceOf(sqs, name, dlq.arn)),
    );
    await queue(sqs, "sources-unrelated");

    const all = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url }));
    expect(all.queueUrls).toEqual([a!.url, b!.url, c!.url]);
    expect(all.NextToken).toBeUndefined();

    const first = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url, MaxResults: 2 }));
    expect(first.queueUrls).toEqual([a!.url, b!.url]);
    const second = await sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url, MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(second).toMatchObject({ queueUrls: [c!.url] });
    expect(second.NextToken).toBeUndefined();

    expect((await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: a!.url }))).queueUrls).toEqual([]);
    await expect(
      sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url.replace("sources-dlq", "sources-nope") })),
    ).rejects.toMatchObject({ name: "QueueDoesNotExist", $metadata: { httpStatusCode: 400 } });
  });

  it("redrives dead-lettered messages back to the queue each came from, body and attributes intact; RUNNING, then COMPLETED", async () => {
    const dlq = await queue(sqs, "redrive-dlq");
    const orders = await sourceOf(sqs, "redrive-orders", dlq.arn);
    const invoices = await sourceOf(sqs, "redrive-invoices", dlq.arn);
    for (let i = 0; i < 3; i++) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: orders.url, MessageBody: `order-${i}`, MessageAttributes: attributes }),
      );
    }
    await sqs.send(new SendMessageCommand({ QueueUrl: invoices.url, MessageBody: "invoice-0" }));
    await deadLetter(orders.url, 3);
    await deadLetter(invoices.url, 1);
    expect(await depth(dlq.url)).toBe(4);

    // Two a second: the task stays RUNNING for about a second, long enough to be seen.
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: 2 }),
    );
    expect(JSON.parse(Buffer.from(TaskHandle!, "base64").toString("utf8"))).toEqual({
      taskId: expect.any(String),
      sourceArn: dlq.arn,
    });

    const [running] = await tasks(dlq.arn);
    expect(running).toEqual({
      TaskHandle,
      Status: "RUNNING",
      SourceArn: dlq.arn,
      MaxNumberOfMessagesPerSecond: 2,
      ApproximateNumberOfMessagesMoved: expect.any(Number),
      ApproximateNumberOfMessagesToMove: 4,
      StartedTimestamp: expect.any(Number),
    });
    expect(Math.abs(running!.StartedTimestamp! - Date.now())).toBeLessThan(5000);

    const completed = await until(dlq.arn, "COMPLETED");
    expect(completed).toEqual({
      Status: "COMPLETED",
      SourceArn: dlq.arn,
      MaxNumberOfMessagesPerSecond: 2,
      ApproximateNumberOfMessagesMoved: 4,
      ApproximateNumberOfMessagesToMove: 4,
      StartedTimestamp: running!.StartedTimestamp,
    });

    const backInOrders = await receiveAll(sqs, orders.url, 3);
    expect(backInOrders.map((m) => m.Body).sort()).toEqual(["order-0", "order-1", "order-2"]);
    for (const message of backInOrders) {
      expect(message.MessageAttributes).toEqual(attributes);
      // A redriven message is a new message: its receive count starts again.
      expect(message.Attributes?.ApproximateReceiveCount).toBe("1");
    }
    const backInInvoices = await receiveAll(sqs, invoices.url, 1);
    expect(backInInvoices.map((m) => [m.Body, m.MessageAttributes])).toEqual([["invoice-0", undefined]]);
    expect(await depth(dlq.url)).toBe(0);
  });

  it("a message sent to the DLQ directly has no source: redrive to source fails (CouldNotDetermineMessageSource), a DestinationArn moves it", async () => {
    const dlq = await queue(sqs, "direct-dlq");
    await sourceOf(sqs, "direct-source", dlq.arn);
    const target = await queue(sqs, "direct-target");
    await sqs.send(
      new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: "put here by hand", MessageAttributes: attributes }),
    );

    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    const failed = await until(dlq.arn, "FAILED");
    expect(failed).toMatchObject({
      FailureReason: "CouldNotDetermineMessageSource",
      ApproximateNumberOfMessagesMoved: 0,
      ApproximateNumberOfMessagesToMove: 1,
    });
    expect(failed).not.toHaveProperty("TaskHandle");
    expect(await depth(dlq.url)).toBe(1); // left where it was, visible again at once

    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: target.arn }));
    expect(await until(dlq.arn, "COMPLETED")).toMatchObject({
      DestinationArn: target.arn,
      ApproximateNumberOfMessagesMoved: 1,
    });
    const [moved] = await receiveAll(sqs, target.url, 1);
    expect([moved?.Body, moved?.MessageAttributes]).toEqual(["put here by hand", attributes]);

    const history = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn, MaxResults: 10 }));
    expect(history.Results?.map((task) => task.Status)).toEqual(["COMPLETED", "FAILED"]);
  });

  it("redrives a FIFO DLQ back to its FIFO source, keeping each message's group and order", async () => {
    const dlq = await queue(sqs, "fifo-dlq.fifo", { FifoQueue: "true" });
    const source = await queue(sqs, "fifo-source.fifo", {
      FifoQueue: "true",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
    });
    for (const [body, group] of [
      ["a-1", "a"],
      ["a-2", "a"],
      ["b-1", "b"],
    ]) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: source.url,
          MessageBody: body,
          MessageGroupId: group,
          MessageDeduplicationId: body,
        }),
      );
    }
    for (let i = 0; i < 12 && (await depth(source.url)) > 0; i++) {
      await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: source.url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
    }
    expect(await depth(dlq.url)).toBe(3);

    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    expect(await until(dlq.arn, "COMPLETED")).toMatchObject({ ApproximateNumberOfMessagesMoved: 3 });
    const back: Message[] = [];
    for (let i = 0; i < 10 && back.length < 3; i++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: source.url,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ["MessageGroupId"],
        }),
      );
      for (const message of Messages) {
        back.push(message);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: source.url, ReceiptHandle: message.ReceiptHandle! }));
      }
    }
    const inGroup = (group: string) => back.filter((m) => m.Attributes?.MessageGroupId === group).map((m) => m.Body);
    expect([inGroup("a"), inGroup("b")]).toEqual([["a-1", "a-2"], ["b-1"]]);
  });

  it("keeps to MaxNumberOfMessagesPerSecond", async () => {
    const dlq = await queue(sqs, "rate-dlq");
    await sourceOf(sqs, "rate-source", dlq.arn);
    const target = await queue(sqs, "rate-target");
    await fill(dlq.url, 4);

    const started = Date.now();
    await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlq.arn,
        DestinationArn: target.arn,
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    await until(dlq.arn, "COMPLETED", 15_000);
    const elapsed = Date.now() - started;
    // One a second: the first at once, the fourth three seconds later.
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(8000);
    expect(await depth(target.url)).toBe(4);
  });

  it("one active task per source: a second start is refused; CancelMessageMoveTask stops a slow task and leaves the rest in the DLQ", async () => {
    const dlq = await queue(sqs, "cancel-dlq");
    await sourceOf(sqs, "cancel-source", dlq.arn);
    const target = await queue(sqs, "cancel-target");
    await fill(dlq.url, 10);

    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlq.arn,
        DestinationArn: target.arn,
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    await expect(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: target.arn })),
    ).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message:
        "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
      $metadata: { httpStatusCode: 400 },
    });

    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { ApproximateNumberOfMessagesMoved } = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    expect(ApproximateNumberOfMessagesMoved).toBeGreaterThanOrEqual(1);
    expect(ApproximateNumberOfMessagesMoved).toBeLessThan(10);

    const cancelled = await until(dlq.arn, "CANCELLED");
    expect(cancelled).toMatchObject({ DestinationArn: target.arn, ApproximateNumberOfMessagesToMove: 10 });
    expect(cancelled).not.toHaveProperty("TaskHandle");
    await new Promise((resolve) => setTimeout(resolve, 1200)); // nothing moves after the cancel
    const moved = cancelled!.ApproximateNumberOfMessagesMoved!;
    expect(moved).toBeLessThan(10);
    expect(await depth(target.url)).toBe(moved);
    expect(await depth(dlq.url)).toBe(10 - moved);

    // Cancelling again: the task is no longer RUNNING.
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }))).rejects.toBeInstanceOf(
      UnsupportedOperation,
    );
    // With the task over, a new one may start.
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: target.arn }));
    await until(dlq.arn, "COMPLETED");
    expect(await depth(target.url)).toBe(10);
  });

  it("refuses what AWS refuses, with AWS's error names", async () => {
    const dlq = await queue(sqs, "refuse-dlq");
    const source = await sourceOf(sqs, "refuse-source", dlq.arn);
    const fifo = await queue(sqs, "refuse-target.fifo", { FifoQueue: "true" });
    const missing = dlq.arn.replace("refuse-dlq", "refuse-missing");

    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: source.arn }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message: "Source queue must be configured as a Dead Letter Queue.",
      $metadata: { httpStatusCode: 400 },
    });
    const noSource = await sqs
      .send(new StartMessageMoveTaskCommand({ SourceArn: missing }))
      .catch((error: unknown) => error);
    expect(noSource).toBeInstanceOf(ResourceNotFoundException);
    expect(noSource).toMatchObject({
      message: "The resource that you specified for the SourceArn parameter doesn't exist.",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: missing })),
    ).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      message: "The resource that you specified for the DestinationArn parameter doesn't exist.",
    });
    await expect(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: fifo.arn })),
    ).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: "refuse-dlq" }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    for (const rate of [0, 501]) {
      await expect(
        sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: rate })),
      ).rejects.toMatchObject({
        name: "InvalidParameterValue",
      });
    }

    await expect(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: missing }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(
      sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn, MaxResults: 11 })),
    ).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }))).Results).toEqual([]);

    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: "foobared" }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message: "Value for parameter TaskHandle is invalid.",
    });
    const handle = (sourceArn: string) =>
      Buffer.from(JSON.stringify({ taskId: crypto.randomUUID(), sourceArn })).toString("base64");
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle(dlq.arn) }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      message: "Task does not exist.",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle(missing) }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      message: "The resource that you specified for the SourceArn parameter doesn't exist.",
    });
  });

  it("a destination deleted mid-task fails the task with AWS.SimpleQueueService.NonExistentQueue; the rest stays in the DLQ", async () => {
    const dlq = await queue(sqs, "vanish-dlq");
    await sourceOf(sqs, "vanish-source", dlq.arn);
    const target = await queue(sqs, "vanish-target");
    await fill(dlq.url, 5);

    await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlq.arn,
        DestinationArn: target.arn,
        MaxNumberOfMessagesPerSecond: 2,
      }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl: target.url }));
    const failed = await until(dlq.arn, "FAILED");
    expect(failed).toMatchObject({ FailureReason: "AWS.SimpleQueueService.NonExistentQueue" });
    expect(await depth(dlq.url)).toBe(5 - failed!.ApproximateNumberOfMessagesMoved!);
  });

  /** Receive each message twice (visibility 0): the second receive exceeds maxReceiveCount 1. */
  async function deadLetter(QueueUrl: string, count: number) {
    for (let round = 0; round < 2; round++) {
      let received = 0;
      while (received < count) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
        );
        received += Messages.length;
        if (round === 1 && Messages.length === 0) break;
      }
    }
    expect(await depth(QueueUrl)).toBe(0);
  }

  async function fill(QueueUrl: string, count: number) {
    for (let i = 0; i < count; i += 10) {
      const Entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
        Id: `m${j}`,
        MessageBody: `message-${i + j}`,
      }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    }
  }

  async function depth(QueueUrl: string): Promise<number> {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  }

  async function tasks(SourceArn: string): Promise<ListMessageMoveTasksResultEntry[]> {
    return (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn }))).Results ?? [];
  }

  async function until(
    SourceArn: string,
    status: string,
    timeoutMs = 10_000,
  ): Promise<ListMessageMoveTasksResultEntry | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [latest] = await tasks(SourceArn);
      if (latest?.Status === status || Date.now() > deadline) return latest;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});

describe("SQS DLQ redrive across a devcloud restart (data dir)", () => {
  const dir = temporaryDirectory("quire-redrive");
  let devcloud: Devcloud | undefined;
  afterAll(async () => {
    await devcloud?.stop();
    dir.remove();
  });

  it("stopping devcloud stops a running task cleanly; after a restart the tasks are gone and redrive to source still knows each message's source", async () => {
    devcloud = await startTestDevcloud({ dataDir: dir.path, topology: false });
    let sqs = new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 });
    const dlq = await queue(sqs, "restart-dlq");
    const source = await sourceOf(sqs, "restart-source", dlq.arn);
    for (let i = 0; i < 5; i++) await sqs.send(new SendMessageCommand({ QueueUrl: source.url, MessageBody: `m-${i}` }));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5; i++)
        await sqs.send(new ReceiveMessageCommand({ QueueUrl: source.url, VisibilityTimeout: 0 }));
    }
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1200));

    const stopping = Date.now();
    await devcloud.stop();
    expect(Date.now() - stopping).toBeLessThan(3000);
    devcloud = await startTestDevcloud({ dataDir: dir.path, topology: false });
    sqs = new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 });

    // Task state lives in the process: forgotten. Messages are all still there, once each.
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }))).Results).toEqual([]);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    const deadline = Date.now() + 10_000;
    let latest: ListMessageMoveTasksResultEntry | undefined;
    do {
      [latest] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }))).Results ?? [];
    } while (latest?.Status === "RUNNING" && Date.now() < deadline);
    expect(latest).toMatchObject({ Status: "COMPLETED" });
    const back: Message[] = await receiveAll(sqs, source.url, 5);
    expect(back.map((m) => m.Body).sort()).toEqual(["m-0", "m-1", "m-2", "m-3", "m-4"]);
  });
});

async function queue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

function sourceOf(sqs: SQSClient, name: string, deadLetterTargetArn: string) {
  return queue(sqs, name, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn, maxReceiveCount: 1 }) });
}
