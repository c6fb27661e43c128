import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { newDeliveryId, newSubscriptionId } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import {
  createNotificationStore,
  type Delivery,
  type NewSubscription,
  type NotificationStore,
  type Subscription,
} from "@quire/notifications";
import { createLogger, FAILURE_ATTRIBUTES, startLocalRunner } from "@quire/runtime";
import { createAddressGuard } from "@quire/webhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAttemptQueue, type AttemptQueue } from "../src/delivery/queue.ts";
import { createDeliveryWorker } from "../src/delivery/worker.ts";
import { deliverySettings, secretBox } from "./support.ts";

let devcloud: Devcloud;
let store: NotificationStore;
let sqs: SQSClient;
let queueUrl: string;
let deadLetterQueueUrl: string;
let endpoint: Server;
let endpointUrl: string;
const settings = deliverySettings([5_000, 10 * 3600_000]);
const quiet = createLogger({}, () => {});
const ctx = () => ({
  messageId: "m",
  receiveCount: 1,
  queueName: "q",
  signal: new AbortController().signal,
  log: quiet,
});

beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  store = createNotificationStore({
    client: new DynamoDBClient(devcloud.clientConfig),
    tableName: devcloud.resources.tableNames.notifications!,
    secrets: secretBox(devcloud),
  });
  sqs = new SQSClient(devcloud.clientConfig);
  queueUrl = devcloud.resources.queueUrls.notifierDeliveries!;
  deadLetterQueueUrl = devcloud.resources.deadLetterQueueUrls.notifierDeliveries!;
  // An endpoint that is down: every attempt fails with a 500.
  endpoint = createServer((_req, res) => res.writeHead(500).end("down"));
  await new Promise<void>((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
  endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  await new Promise((resolve) => endpoint?.close(resolve));
  await devcloud?.stop();
});

function worker(queue: AttemptQueue = createAttemptQueue({ sqs, queueUrl })) {
  return createDeliveryWorker({
    store,
    queue,
    guard: createAddressGuard({ allowlist: "127.0.0.1" }),
    ses: new SESv2Client(devcloud.clientConfig),
    settings,
  });
}
async function subscription(overrides: Partial<NewSubscription> = {}): Promise<Subscription> {
  const at = new Date().toISOString();
  const sub = {
    id: newSubscriptionId(),
    kind: "webhook",
    url: endpointUrl,
    events: ["job.completed"],
    status: "active",
    secrets: [{ secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }],
    createdAt: at,
    updatedAt: at,
    ...overrides,
  } as NewSubscription;
  return store.createSubscription(sub);
}
async function delivery(subscriptionId: string): Promise<Delivery> {
  const id = newDeliveryId();
  const { delivery: created } = await store.createDelivery({
    id,
    subscriptionId,
    eventId: `evt-${id}`,
    eventType: "job.completed",
    messageId: `msg_${id.slice(4)}`,
    payload: { type: "job.completed", timestamp: new Date().toISOString(), data: { jobId: "job_x" } },
  });
  return created;
}
/**
 * Run the worker on the real delivery queue under the local host until `done`, dead-lettering on the second receive.
 */
async function runUntil(
  consumer: ReturnType<typeof worker>,
  done: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const runner = startLocalRunner(consumer, {
    sqs,
    queueUrl,
    deadLetterQueueUrl,
    maxReceiveCount: 2,
    retryDelaySeconds: () => 0,
    waitTimeSeconds: 1,
    log: quiet,
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await runner.stop();
  }
}
const daysAgo = (days: number) => new Date(Date.now() - days * 86400_000).toISOString();

describe("dead-lettered attempts", () => {
  it("a delivery whose attempt message is dead-lettered fails with the reason instead of staying in progress", async () => {
    const sub = await subscription();
    const d = await delivery(sub.id);
    // A worker claimed attempt 1 and died: every receive of the message finds it in progress elsewhere.
    expect(await store.claimAttempt(d.id, 1, 3600_000)).toBe(true);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ deliveryId: d.id, attempt: 1 }) }),
    );

    await runUntil(worker(), async () => (await store.getDelivery(d.id))?.status === "failed");

    expect(await store.getDelivery(d.id)).toMatchObject({
      status: "failed",
      attempts: 0,
      failure: { code: "RETRIES_EXHAUSTED", message: expect.stringContaining("in progress elsewhere") },
    });
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageAttributeNames: ["All"], WaitTimeSeconds: 1 }),
    );
    expect(Messages.map((m) => m.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue)).toContain(
      "RETRIES_EXHAUSTED",
    );
  });

  it("a retrying delivery whose next attempt could never be queued fails instead of waiting forever", async () => {
    const sub = await subscription();
    const d = await delivery(sub.id);
    const real = createAttemptQueue({ sqs, queueUrl });
    const sqsDown: AttemptQueue = {
      ...real,
      async enqueue(message) {
        if (message.attempt > 1) throw new Error("SQS is unavailable");
        await real.enqueue(message);
      },
    };
    await real.enqueue({ deliveryId: d.id, attempt: 1 });

    await runUntil(worker(sqsDown), async () => (await store.getDelivery(d.id))?.status === "failed");

    expect(await store.getDelivery(d.id)).toMatchObject({
      status: "failed",
      attempts: 1,
      lastAttempt: { statusCode: 500 },
      failure: { code: "RETRIES_EXHAUSTED", message: expect.stringContaining("SQS is unavailable") },
    });
  });

  it("a dead-lettered message that names no attempt leaves deliveries alone", async () => {
    const sub = await subscription();
    const d = await delivery(sub.id);
    await worker().onDeadLetter!(
      { deliveryId: d.id },
      { code: "SCHEMA_VIOLATION", message: "attempt: required" },
      ctx(),
    );
    expect(await store.getDelivery(d.id)).toMatchObject({ status: "pending" });
  });
});

describe("disabling after failing too long", () => {
  it("one failure after a quiet week does not disable a subscription whose last streak began 6 days ago", async () => {
    const sub = await subscription({ failingSince: daysAgo(6), lastFailureAt: daysAgo(6) });
    const d = await delivery(sub.id);

    await worker().handle({ deliveryId: d.id, attempt: 1 }, ctx());

    expect(await store.getDelivery(d.id)).toMatchObject({ status: "retrying", attempts: 1 });
    const after = await store.getSubscription(sub.id);
    expect(after?.status).toBe("active");
    expect(Date.parse(after!.failingSince!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("a failure continuing a 6-day streak whose last failure was within the retry schedule disables it", async () => {
    const sub = await subscription({
      failingSince: daysAgo(6),
      lastFailureAt: new Date(Date.now() - 9 * 3600_000).toISOString(),
    });
    const d = await delivery(sub.id);

    await worker().handle({ deliveryId: d.id, attempt: 1 }, ctx());

    expect(await store.getDelivery(d.id)).toMatchObject({ status: "failed", attempts: 1 });
    expect(await store.getSubscription(sub.id)).toMatchObject({
      status: "disabled",
      disabledReason: { code: "CONSECUTIVE_FAILURES" },
    });
  });
});

describe("signing secrets", () => {
  /** A receiver that answers 200 and keeps what it got. */
  async function receiver() {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    return { url, received, close: () => new Promise((resolve) => server.close(resolve)) };
  }
  /** Standard Webhooks: v1,base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), one per signing secret. */
  const signatureWith = (secret: string, headers: IncomingHttpHeaders, body: string) =>
    `v1,${createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
      .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
      .digest("base64")}`;

  it("a delivery is signed with the decrypted secrets (current and overlapping), and no log line carries one", async () => {
    const hook = await receiver();
    const lines: string[] = [];
    const log = createLogger({}, (line) => lines.push(line), "debug");
    try {
      const first = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
      const second = "whsec_c2Vjb25kLXNlY3JldC1mb3Itc2lnbmluZw==";
      const sub = await subscription({ url: hook.url, secrets: [{ secret: first }] } as Partial<NewSubscription>);
      expect((await store.rotateSecret(sub.id, second, new Date(Date.now() + 3600_000))).outcome).toBe("rotated");
      const d = await delivery(sub.id);

      await worker().handle({ deliveryId: d.id, attempt: 1 }, { ...ctx(), log });

      expect(await store.getDelivery(d.id)).toMatchObject({ status: "succeeded" });
      const [request] = hook.received;
      const signatures = String(request!.headers["webhook-signature"]).split(" ");
      expect(signatures).toEqual([
        signatureWith(second, request!.headers, request!.body),
        signatureWith(first, request!.headers, request!.body),
      ]);
      expect(lines.length).toBeGreaterThan(0);
      for (const secret of [first, second]) {
        expect(lines.join("\n")).not.toContain(secret);
        expect(lines.join("\n")).not.toContain(secret.slice("whsec_".length));
      }
    } finally {
      await hook.close();
    }
  });

  it("a secret that can never decrypt (another subscription's ciphertext) fails the delivery for good, naming no secret", async () => {
    const secret = "whsec_b3RoZXItc3Vic2NyaXB0aW9ucy1zZWNyZXQ=";
    const donor = await subscription({ secrets: [{ secret }] } as Partial<NewSubscription>);
    const sub = await subscription();
    const dynamodb = new DynamoDBClient(devcloud.clientConfig);
    const key = (id: string) => ({ pk: { S: "SUBSCRIPTIONS" }, sk: { S: `SUB#${id}` } });
    const tableName = devcloud.resources.tableNames.notifications!;
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: key(donor.id) }));
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key(sub.id),
        UpdateExpression: "SET secrets = :copied",
        ExpressionAttributeValues: { ":copied": Item!.secrets! },
      }),
    );
    const d = await delivery(sub.id);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ deliveryId: d.id, attempt: 1 }) }),
    );

    await runUntil(worker(), async () => (await store.getDelivery(d.id))?.status === "failed");

    const failed = await store.getDelivery(d.id);
    expect(failed).toMatchObject({
      status: "failed",
      attempts: 0,
      failure: { code: "SIGNING_SECRET_UNREADABLE", message: expect.stringContaining(sub.id) },
    });
    expect(JSON.stringify(failed)).not.toContain(secret);
  });
});
