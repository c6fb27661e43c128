import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createApiKeys, DEFAULT_KEY_LIMITS } from "@quire/api-keys";
import { newDeliveryId, newSubscriptionId } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import {
  createNotificationStore,
  type Delivery,
  type DeliveryStatus,
  type NewSubscription,
  type NotificationStore,
  type Subscription,
  type WebhookSubscription,
} from "@quire/notifications";
import { createAddressGuard } from "@quire/webhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createNotifierApi, deliveriesToReplay } from "../src/api.ts";
import { createAttemptQueue, type AttemptQueue } from "../src/delivery/queue.ts";
import { deliverySettings, secretBox } from "./support.ts";

const API_KEY = "test-api-key-0123456789";
const settings = deliverySettings([5_000]);
let devcloud: Devcloud;
let store: NotificationStore;
let api: ReturnType<typeof createNotifierApi>;

beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  store = createNotificationStore({
    client: new DynamoDBClient(devcloud.clientConfig),
    tableName: devcloud.resources.tableNames.notifications!,
    secrets: secretBox(devcloud),
  });
  // The delivery queue is down: every send fails, as SQS does when throttled or unreachable.
  const real = createAttemptQueue({
    sqs: new SQSClient(devcloud.clientConfig),
    queueUrl: devcloud.resources.queueUrls.notifierDeliveries!,
  });
  const queue: AttemptQueue = { ...real, enqueue: async () => Promise.reject(new Error("SQS is unavailable")) };
  api = createNotifierApi({
    store,
    queue,
    guard: createAddressGuard(),
    ses: new SESv2Client(devcloud.clientConfig),
    settings,
    keys: createApiKeys({
      client: new DynamoDBClient(devcloud.clientConfig),
      tableName: devcloud.resources.tableNames.apiKeys!,
      bootstrapKey: API_KEY,
      defaultLimits: DEFAULT_KEY_LIMITS,
    }),
  });
});
afterAll(() => devcloud?.stop());

const post = async (path: string, json?: unknown) => {
  const response = await api.request(path, {
    method: "POST",
    headers: { "x-api-key": API_KEY, ...(json ? { "content-type": "application/json" } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};
async function activeWebhook(): Promise<Subscription> {
  const at = new Date().toISOString();
  const sub: NewSubscription = {
    id: newSubscriptionId(),
    kind: "webhook",
    url: "https://hooks.example.com",
    events: ["job.completed"],
    status: "active",
    secrets: [{ secret: "whsec_x" }],
    createdAt: at,
    updatedAt: at,
  };
  return store.createSubscription(sub);
}
async function failedDelivery(subscriptionId: string): Promise<Delivery> {
  const id = newDeliveryId();
  await store.createDelivery({
    id,
    subscriptionId,
    eventId: `evt-${id}`,
    eventType: "job.completed",
    messageId: `msg_${id.slice(4)}`,
    payload: { type: "job.completed", timestamp: new Date().toISOString(), data: {} },
  });
  await store.claimAttempt(id, 1, 60_000);
  await store.recordAttempt(
    id,
    { attempt: 1, at: new Date().toISOString(), outcome: "failed", statusCode: 500, latencyMs: 1 },
    { status: "failed" },
  );
  return (await store.getDelivery(id))!;
}

describe("a delivery that cannot be queued", () => {
  it("a test ping answers 503 DELIVERY_NOT_QUEUED and its delivery fails with the reason, not left pending", async () => {
    const sub = await activeWebhook();
    const { status, body } = await post(`/v1/subscriptions/${sub.id}/test`);
    expect(status).toBe(503);
    expect(body.error).toMatchObject({
      code: "DELIVERY_NOT_QUEUED",
      details: { deliveryId: expect.stringMatching(/^dlv_/) },
    });
    expect(await store.getDelivery(body.error.details.deliveryId)).toMatchObject({
      status: "failed",
      failure: { code: "ENQUEUE_FAILED", message: expect.stringContaining("SQS is unavailable") },
    });
  });

  it("a replay answers 503 DELIVERY_NOT_QUEUED and its delivery fails with the reason", async () => {
    const sub = await activeWebhook();
    const original = await failedDelivery(sub.id);
    const { status, body } = await post(`/v1/deliveries/${original.id}/replay`);
    expect(status).toBe(503);
    expect(body.error.code).toBe("DELIVERY_NOT_QUEUED");
    expect(await store.getDelivery(body.error.details.deliveryId)).toMatchObject({
      status: "failed",
      replayOf: original.id,
      failure: { code: "ENQUEUE_FAILED" },
    });
  });

  it("a bulk replay answers 503 DELIVERY_NOT_QUEUED, and the next one replays the message again", async () => {
    const sub = await activeWebhook();
    const since = new Date(Date.now() - 1000).toISOString();
    await failedDelivery(sub.id);
    const first = await post(`/v1/subscriptions/${sub.id}/replay`, { since });
    expect(first.status).toBe(503);
    expect(first.body.error).toMatchObject({ code: "DELIVERY_NOT_QUEUED", details: { replayed: [] } });
    expect(await store.getDelivery(first.body.error.details.deliveryId)).toMatchObject({
      status: "failed",
      failure: { code: "ENQUEUE_FAILED" },
    });
    // Nothing is left looking underway, so retrying the request tries the message again.
    expect((await post(`/v1/subscriptions/${sub.id}/replay`, { since })).status).toBe(503);
  });
});

describe("rotating a webhook's secret", () => {
  it("of two rotations at the same time one answers 200 with the secret that now signs, the other 409 SECRET_ROTATION_CONFLICT", async () => {
    const sub = await activeWebhook();
    // Whatever the process writes meanwhile (logs, errors): no secret may be in it.
    const written: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      }),
    );
    const answers = await Promise.all([1, 2].map(() => post(`/v1/subscriptions/${sub.id}/rotate-secret`))).finally(
      () => {
        for (const spy of spies) spy.mockRestore();
      },
    );
    expect(written.join("")).not.toMatch(/whsec_/);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const won = answers.find((a) => a.status === 200)!;
    const lost = answers.find((a) => a.status === 409)!;
    expect(lost.body.error.code).toBe("SECRET_ROTATION_CONFLICT");
    expect(JSON.stringify(lost.body)).not.toMatch(/whsec_/);
    const after = (await store.getSubscription(sub.id)) as WebhookSubscription;
    expect(await store.signingSecrets(after)).toEqual([won.body.secret, "whsec_x"]);
    // Rotating again afterwards succeeds: the conflict was only with the concurrent request.
    expect((await post(`/v1/subscriptions/${sub.id}/rotate-secret`)).status).toBe(200);
  });
});

describe("which deliveries a bulk replay sends", () => {
  const at = (second: number) => `2026-11-23T10:00:${String(second).padStart(2, "0")}.000Z`;
  const d = (id: string, messageId: string, status: DeliveryStatus, second: number) =>
    ({ id, messageId, status, createdAt: at(second) }) as Delivery;
  const newestFirst = (...deliveries: Delivery[]) => deliveries.sort((a, b) => b.createdAt.localeCompare(a.createdAt));

  it("one per message, the latest of its failed deliveries, however many replays failed before", () => {
    const chosen = deliveriesToReplay(
      newestFirst(d("a0", "msg_a", "failed", 1), d("a1", "msg_a", "failed", 2), d("a2", "msg_a", "failed", 3)),
    );
    expect(chosen.map((x) => x.id)).toEqual(["a2"]);
  });

  it("none for a message delivered or still being tried", () => {
    const chosen = deliveriesToReplay(
      newestFirst(
        d("a0", "msg_a", "failed", 1),
        d("a1", "msg_a", "succeeded", 2),
        d("b0", "msg_b", "failed", 3),
        d("b1", "msg_b", "retrying", 4),
        d("c0", "msg_c", "failed", 5),
        d("c1", "msg_c", "pending", 6),
        d("e0", "msg_e", "failed", 7),
        d("e1", "msg_e", "sending", 8),
        d("f0", "msg_f", "failed", 9),
      ),
    );
    expect(chosen.map((x) => x.id)).toEqual(["f0"]);
  });

  it("in the order the messages were last tried, oldest first", () => {
    const chosen = deliveriesToReplay(
      newestFirst(d("a0", "msg_a", "failed", 1), d("b0", "msg_b", "failed", 2), d("a1", "msg_a", "failed", 3)),
    );
    expect(chosen.map((x) => x.id)).toEqual(["b0", "a1"]);
  });
});
