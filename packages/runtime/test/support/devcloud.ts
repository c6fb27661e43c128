import { randomUUID } from "node:crypto";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
} from "@aws-sdk/client-sqs";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { z } from "zod";
import { createLogger, type Logger } from "../../src/index.ts";

/** devcloud on a free port, in memory, with nothing provisioned: each test makes its own queues. */
export async function startTestCloud(): Promise<{ devcloud: Devcloud; sqs: SQSClient; stop: () => Promise<void> }> {
  const devcloud = await startDevcloud({ port: 0, topology: false, log: process.env.DEBUG ? console.error : () => {} });
  const sqs = new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 });
  return {
    devcloud,
    sqs,
    stop: async () => {
      sqs.destroy();
      await devcloud.stop();
    },
  };
}

export interface QueuePair {
  name: string;
  url: string;
  arn: string;
  dlqUrl: string;
}

/** A work queue with a DLQ and a RedrivePolicy, as the topology provisions them. */
export async function createQueuePair(
  sqs: SQSClient,
  prefix: string,
  { visibilityTimeout = 30, maxReceiveCount = 5 }: { visibilityTimeout?: number; maxReceiveCount?: number } = {},
): Promise<QueuePair> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }))
  ).Attributes!.QueueArn!;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeout),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  const arn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }))
  ).Attributes!.QueueArn!;
  return { name, url: queue.QueueUrl!, arn, dlqUrl: dlq.QueueUrl! };
}

export async function send(
  sqs: SQSClient,
  queueUrl: string,
  body: unknown,
  attributes?: Record<string, MessageAttributeValue>,
) {
  const { MessageId } = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: typeof body === "string" ? body : JSON.stringify(body),
      MessageAttributes: attributes,
    }),
  );
  return MessageId!;
}

/** Receive until `count` messages arrived or `timeoutMs` passed. */
export async function receiveAll(
  sqs: SQSClient,
  queueUrl: string,
  count: number,
  timeoutMs = 3000,
): Promise<Message[]> {
  const received: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    received.push(...Messages);
  }
  return received;
}

/** Visible and in-flight message counts, straight from the queue. */
export async function queueDepth(sqs: SQSClient, queueUrl: string) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A logger that keeps its lines (parsed) instead of printing them. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    {},
    (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env.DEBUG) console.error(line);
    },
    "debug",
  );
  return { log, lines };
}

/** The message the test consumers take: a job id and what the handler should do. */
export const testMessage = z.object({
  jobId: z.string().regex(/^job_[0-9A-Za-z]{10,40}$/),
  n: z.number().int(),
});
export type TestMessage = z.infer<typeof testMessage>;

let counter = 0;
export const jobId = () => `job_${String(Date.now())}${String(counter++).padStart(6, "0")}`;
