import { SQSClient, type SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { newDeliveryId, newSubscriptionId } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { createNotificationStore, type NotificationStore } from "@quire/notifications";
import { createLogger } from "@quire/runtime";
import { createAddressGuard } from "@quire/webhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAttemptQueue, MAX_SQS_DELAY_SECONDS } from "../src/delivery/queue.ts";
import { createDeliveryWorker } from "../src/delivery/worker.ts";
import { deliverySettings, secretBox } from "./support.ts";

let devcloud: Devcloud;
let store: NotificationStore;
let sqs: SQSClient;
/** Every SendMessage the queue makes, seen through a middleware on a real SDK client. */
const sent: SendMessageCommandInput[] = [];
const now = new Date("2026-11-23T10:00:00.000Z");
const settings = deliverySettings([5_000, 2 * 3600_000]);

beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  store = createNotificationStore({
    client: new DynamoDBClient(devcloud.clientConfig),
    tableName: devcloud.resources.tableNames.notifications!,
    secrets: secretBox(devcloud),
    now: () => now,
  });
  sqs = new SQSClient(devcloud.clientConfig);
  sqs.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === "SendMessageCommand") sent.push(args.input as SendMessageCommandInput);
      return next(args);
    },
    { step: "initialize", name: "recordSends" },
  );
});
afterAll(() => devcloud?.stop());

const ctx = () => ({
  messageId: "m",
  receiveCount: 1,
  queueName: "q",
  signal: new AbortController().signal,
  log: createLogger({}, () => {}),
});

describe("delivery scheduling", () => {
  it("a delay within SQS's 15 minutes is one DelaySeconds; a longer one is capped for chaining", () => {
    const queue = createAttemptQueue({ sqs, queueUrl: "unused", now: () => now });
    const at = (ms: number) => ({
      deliveryId: newDeliveryId(),
      attempt: 2,
      notBefore: new Date(now.getTime() + ms).toISOString(),
    });
    expect(queue.delayOf(at(5_000))).toBe(5);
    expect(queue.delayOf(at(1_500))).toBe(2);
    expect(queue.delayOf(at(2 * 3600_000))).toBe(MAX_SQS_DELAY_SECONDS);
    expect(queue.delayOf(at(-1000))).toBe(0);
  });

  it("an attempt that arrives before it is due is sent on again for the rest of the wait, and not made", async () => {
    const queueUrl = devcloud.resources.queueUrls.notifierDeliveries!;
    const queue = createAttemptQueue({ sqs, queueUrl, now: () => now });
    const worker = createDeliveryWorker({
      store,
      queue,
      guard: createAddressGuard(),
      ses: new SESv2Client(devcloud.clientConfig),
      settings,
      now: () => now,
    });
    const subscriptionId = newSubscriptionId();
    await store.createSubscription({
      id: subscriptionId,
      kind: "webhook",
      url: "https://hooks.example.com",
      events: ["job.completed"],
      status: "active",
      secrets: [{ secret: "whsec_AAAA" }],
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    const { delivery } = await store.createDelivery({
      id: newDeliveryId(),
      subscriptionId,
      eventId: "evt",
      eventType: "job.completed",
      messageId: "msg_1",
      payload: { type: "job.completed", timestamp: now.toISOString(), data: {} },
    });
    const message = {
      deliveryId: delivery.id,
      attempt: 1,
      notBefore: new Date(now.getTime() + 3600_000).toISOString(),
    };
    sent.length = 0;

    await worker.handle(message, ctx());

    expect(sent).toEqual([
      { QueueUrl: queueUrl, MessageBody: JSON.stringify(message), DelaySeconds: MAX_SQS_DELAY_SECONDS },
    ]);
    expect(await store.getDelivery(delivery.id)).toMatchObject({ status: "pending", attempts: 0 });
  });
});
