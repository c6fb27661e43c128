import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { receiveAll, startTestDevcloud } from "./support/devcloud.ts";

describe("SNS, SQS and S3 through the devcloud edge", () => {
  let devcloud: Devcloud;
  let sns: SNSClient;
  let sqs: SQSClient;
  let s3: S3Client;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    sns = new SNSClient(devcloud.clientConfig);
    sqs = new SQSClient(devcloud.clientConfig);
    s3 = new S3Client({ ...devcloud.clientConfig, forcePathStyle: true });
  });
  afterAll(() => devcloud.stop());

  async function queueWithArn(name: string, attributes: Record<string, string> = {}) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  }

  it("a publish reaches only the queue whose filter policy matches, as the raw message", async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "filtering" }));
    const invoices = await queueWithArn("filtering-invoices");
    const contracts = await queueWithArn("filtering-contracts");
    for (const [queue, kind] of [
      [invoices, "invoice"],
      [contracts, "contract"],
    ] as const) {
      await sns.send(
        new SubscribeCommand({
          TopicArn,
          Protocol: "sqs",
          Endpoint: queue.arn,
          Attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ kind: [kind] }) },
        }),
      );
    }
    await sns.send(
      new PublishCommand({
        TopicArn,
        Message: '{"n":1}',
        MessageAttributes: { kind: { DataType: "String", StringValue: "invoice" } },
      }),
    );

    const [delivered] = await receiveAll(sqs, invoices.url, 1);
    expect(delivered?.Body).toBe('{"n":1}');
    expect(await receiveAll(sqs, contracts.url, 1, 1200)).toEqual([]);
  });

  it("a message received maxReceiveCount times without being deleted moves to the DLQ", async () => {
    const dlq = await queueWithArn("redrive-dlq");
    const work = await queueWithArn("redrive-work", {
      VisibilityTimeout: "1",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: work.url, MessageBody: "poison" }));
    expect((await receiveAll(sqs, work.url, 1)).map((m) => m.Body)).toEqual(["poison"]);
    // After the visibility timeout the second receive exceeds maxReceiveCount: SQS moves it instead.
    await new Promise((r) => setTimeout(r, 1100));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: work.url, WaitTimeSeconds: 1 }));
    const [deadLettered] = await receiveAll(sqs, dlq.url, 1);
    expect(deadLettered?.Body).toBe("poison");
  });

  it("a deleted message is not delivered again", async () => {
    const queue = await queueWithArn("delete-once", { VisibilityTimeout: "1" });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "once" }));
    const [message] = await receiveAll(sqs, queue.url, 1);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message!.ReceiptHandle! }));
    await new Promise((r) => setTimeout(r, 1100));
    expect(await receiveAll(sqs, queue.url, 1, 1200)).toEqual([]);
  });

  it("S3 stores and returns a 1 MiB object byte for byte", async () => {
    const body = Buffer.alloc(1024 * 1024, "quire ");
    await s3.send(new CreateBucketCommand({ Bucket: "claim-checks" }));
    await s3.send(new PutObjectCommand({ Bucket: "claim-checks", Key: "docs/a.txt", Body: body }));
    const object = await s3.send(new GetObjectCommand({ Bucket: "claim-checks", Key: "docs/a.txt" }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(body)).toBe(true);
  });
});
