import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KMSClient } from "@aws-sdk/client-kms";
import { newDeliveryId, newSubscriptionId } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNotificationStore,
  kmsSecretBox,
  type NewSubscription,
  type NotificationStore,
  type Subscription,
  type WebhookSubscription,
} from "../src/index.ts";

let devcloud: Devcloud;
let store: NotificationStore;
let clock = new Date("2026-11-23T10:00:00.000Z");

beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  store = createNotificationStore({
    client: new DynamoDBClient(devcloud.clientConfig),
    tableName: devcloud.resources.tableNames.notifications!,
    secrets: kmsSecretBox({ kms: new KMSClient(devcloud.clientConfig), keyId: devcloud.resources.keyIds.secrets! }),
    now: () => clock,
  });
});
afterAll(() => devcloud?.stop());

const webhook = (overrides: Partial<NewSubscription> = {}): NewSubscription =>
  ({
    id: newSubscriptionId(),
    kind: "webhook",
    url: "https://hooks.example.com/quire",
    events: ["job.completed"],
    status: "active",
    secrets: [{ secret: "whsec_first" }],
    createdAt: clock.toISOString(),
    updatedAt: clock.toISOString(),
    ...overrides,
  }) as NewSubscription;
/** The secrets a webhook subscription signs with now, decrypted. */
const signing = (sub: Subscription | undefined) => store.signingSecrets(sub as WebhookSubscription);
const delivery = (subscriptionId: string, id = newDeliveryId()) => ({
  id,
  subscriptionId,
  eventId: `evt-${id}`,
  eventType: "job.completed" as const,
  messageId: `msg_${id.slice(4)}`,
  payload: { type: "job.completed", timestamp: clock.toISOString(), data: { jobId: "job_x" } },
});
/** Retries of at most 10 h, plus an attempt's lease: the gap a failure streak survives. */
const streak = { maxGapMs: 10 * 3600_000 + 45_000 };
const attempt = (n: number) => ({
  attempt: n,
  at: clock.toISOString(),
  outcome: "failed" as const,
  statusCode: 500,
  latencyMs: 12,
});

describe("subscriptions", () => {
  it("are stored, listed, and deleted", async () => {
    const sub = webhook();
    const stored = await store.createSubscription(sub);
    expect(await store.getSubscription(sub.id)).toEqual(stored);
    const { secrets: _secrets, ...rest } = sub as Extract<NewSubscription, { kind: "webhook" }>;
    expect(stored).toMatchObject({ ...rest, secretVersion: 1 });
    expect(await signing(stored)).toEqual(["whsec_first"]);
    expect((await store.listSubscriptions()).map((s) => s.id)).toContain(sub.id);
    expect(await store.deleteSubscription(sub.id)).toBe(true);
    expect(await store.getSubscription(sub.id)).toBeUndefined();
    expect(await store.deleteSubscription(sub.id)).toBe(false);
  });

  it("rotation puts the new secret first and keeps the old one until the overlap ends", async () => {
    const sub = webhook();
    await store.createSubscription(sub);
    const until = new Date(clock.getTime() + 60_000);
    const rotated = await store.rotateSecret(sub.id, "whsec_second", until);
    expect(rotated.outcome).toBe("rotated");
    const after = await store.getSubscription(sub.id);
    expect(after).toMatchObject({ secretVersion: 2 });
    expect((after as WebhookSubscription).secrets.map((s) => s.expiresAt)).toEqual([undefined, until.toISOString()]);
    expect(await signing(after)).toEqual(["whsec_second", "whsec_first"]);
    // Once the overlap ends only the new secret signs.
    expect(await store.signingSecrets(after as WebhookSubscription, new Date(until.getTime() + 1))).toEqual([
      "whsec_second",
    ]);
  });

  it("a secret whose overlap already ended is dropped at the next rotation", async () => {
    const sub = webhook({
      secrets: [
        { secret: "whsec_current" },
        { secret: "whsec_stale", expiresAt: new Date(clock.getTime() - 1).toISOString() },
      ],
    } as Partial<NewSubscription>);
    await store.createSubscription(sub);
    const rotated = await store.rotateSecret(sub.id, "whsec_next", new Date(clock.getTime() + 1000));
    expect(rotated.outcome === "rotated" && rotated.subscription.secrets).toHaveLength(2);
    expect(await signing(await store.getSubscription(sub.id))).toEqual(["whsec_next", "whsec_current"]);
  });

  it("an email subscription is confirmed only with its token", async () => {
    const sub: Subscription = {
      id: newSubscriptionId(),
      kind: "email",
      address: "ada@example.com",
      mode: "digest",
      events: ["run.completed"],
      status: "pending_confirmation",
      confirmationToken: "the-token",
      createdAt: clock.toISOString(),
      updatedAt: clock.toISOString(),
    };
    await store.createSubscription(sub);
    expect(await store.confirmEmail(sub.id, "wrong")).toBeUndefined();
    const confirmed = await store.confirmEmail(sub.id, "the-token");
    expect(confirmed).toMatchObject({ status: "active" });
    expect(confirmed).not.toHaveProperty("confirmationToken");
    expect(await store.confirmEmail(sub.id, "the-token")).toBeUndefined();
  });

  it("remembers when an endpoint began failing until a success clears it", async () => {
    const sub = webhook();
    await store.createSubscription(sub);
    const first = await store.recordEndpointFailure(sub.id, streak);
    clock = new Date(clock.getTime() + 5000);
    expect(await store.recordEndpointFailure(sub.id, streak)).toBe(first);
    await store.recordEndpointSuccess(sub.id);
    expect(await store.recordEndpointFailure(sub.id, streak)).toBe(clock.toISOString());
  });

  it("keeps a failure streak across retry-sized gaps, the longest included", async () => {
    const sub = webhook();
    await store.createSubscription(sub);
    const first = await store.recordEndpointFailure(sub.id, streak);
    for (let i = 0; i < 3; i++) {
      clock = new Date(clock.getTime() + streak.maxGapMs);
      expect(await store.recordEndpointFailure(sub.id, streak)).toBe(first);
    }
  });

  it("a failure after a silence longer than any retry leaves starts a new streak", async () => {
    const sub = webhook();
    await store.createSubscription(sub);
    await store.recordEndpointFailure(sub.id, streak);
    clock = new Date(clock.getTime() + 6 * 86400_000);
    expect(await store.recordEndpointFailure(sub.id, streak)).toBe(clock.toISOString());
    expect(await store.getSubscription(sub.id)).toMatchObject({
      failingSince: clock.toISOString(),
      lastFailureAt: clock.toISOString(),
    });
  });

  it("a failure of a deleted subscription records nothing", async () => {
    expect(await store.recordEndpointFailure(newSubscriptionId(), streak)).toBeUndefined();
  });

  it("disabling records the reason; enabling clears it and the failure streak", async () => {
    const sub = webhook();
    await store.createSubscription(sub);
    await store.recordEndpointFailure(sub.id, streak);
    const disabled = await store.disableSubscription(sub.id, { code: "ENDPOINT_GONE", message: "410" });
    expect(disabled).toMatchObject({
      status: "disabled",
      disabledReason: { code: "ENDPOINT_GONE", message: "410", at: clock.toISOString() },
    });
    const enabled = await store.enableSubscription(sub.id);
    expect(enabled).toMatchObject({ status: "active" });
    expect(enabled).not.toHaveProperty("disabledReason");
    expect(enabled).not.toHaveProperty("failingSince");
    expect(enabled).not.toHaveProperty("lastFailureAt");
  });
});

describe("events", () => {
  it("a redelivered event learns whether its fan-out finished", async () => {
    expect(await store.recordEvent("evt-1", "Job Completed")).toEqual({ fannedOut: false });
    expect(await store.recordEvent("evt-1", "Job Completed")).toEqual({ fannedOut: false });
    await store.markEventFannedOut("evt-1", 2);
    expect(await store.recordEvent("evt-1", "Job Completed")).toEqual({ fannedOut: true });
  });
});

describe("deliveries", () => {
  it("creating the same delivery twice keeps the first", async () => {
    const input = delivery("sub_A");
    const first = await store.createDelivery(input);
    const second = await store.createDelivery({ ...input, eventId: "other" });
    expect(first.created).toBe(true);
    expect(second).toEqual({ created: false, delivery: first.delivery });
  });

  it("exactly one claimant wins an attempt", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_B"));
    const claims = await Promise.all([1, 2, 3].map(() => store.claimAttempt(d.id, 1, 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it("an attempt cannot be claimed out of order, nor again once made", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_C"));
    expect(await store.claimAttempt(d.id, 2, 60_000)).toBe(false);
    expect(await store.claimAttempt(d.id, 1, 60_000)).toBe(true);
    expect(
      await store.recordAttempt(d.id, attempt(1), { status: "retrying", nextAttemptAt: clock.toISOString() }),
    ).toBe(true);
    expect(await store.claimAttempt(d.id, 1, 60_000)).toBe(false);
    expect(await store.claimAttempt(d.id, 2, 60_000)).toBe(true);
  });

  it("a claim whose lease lapsed (its worker crashed) can be taken over", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_D"));
    expect(await store.claimAttempt(d.id, 1, 1000)).toBe(true);
    expect(await store.claimAttempt(d.id, 1, 1000)).toBe(false);
    clock = new Date(clock.getTime() + 1001);
    expect(await store.claimAttempt(d.id, 1, 1000)).toBe(true);
  });

  it("keeps a log of every attempt and the delivery's latest state", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_E"));
    await store.claimAttempt(d.id, 1, 60_000);
    await store.recordAttempt(d.id, attempt(1), { status: "retrying", nextAttemptAt: "2026-11-23T11:00:00.000Z" });
    await store.claimAttempt(d.id, 2, 60_000);
    await store.recordAttempt(d.id, { ...attempt(2), outcome: "delivered", statusCode: 200 }, { status: "succeeded" });
    const found = await store.getDeliveryLog(d.id);
    expect(found?.delivery).toMatchObject({
      status: "succeeded",
      attempts: 2,
      lastAttempt: { attempt: 2, statusCode: 200 },
    });
    expect(found?.delivery).not.toHaveProperty("nextAttemptAt");
    expect(found?.log.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 200],
    ]);
  });

  it("a second record of the same attempt loses (the first stands)", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_F"));
    await store.claimAttempt(d.id, 1, 60_000);
    expect(await store.recordAttempt(d.id, attempt(1), { status: "failed" })).toBe(true);
    expect(await store.recordAttempt(d.id, { ...attempt(1), statusCode: 502 }, { status: "failed" })).toBe(false);
    expect((await store.getDelivery(d.id))?.lastAttempt?.statusCode).toBe(500);
  });

  it("a delivery whose waiting attempt was dead-lettered fails with the reason, and stays failed", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_G"));
    const reason = { code: "RETRIES_EXHAUSTED", message: "failed on all 5 deliveries" };
    expect(await store.failDelivery(d.id, 1, reason)).toBe(true);
    expect(await store.getDelivery(d.id)).toMatchObject({
      status: "failed",
      attempts: 0,
      failure: { ...reason, at: clock.toISOString() },
    });
    expect(await store.claimAttempt(d.id, 1, 60_000)).toBe(false);
  });

  it("a retrying delivery fails when the attempt that had to schedule its retry is dead-lettered", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_H"));
    await store.claimAttempt(d.id, 1, 60_000);
    await store.recordAttempt(d.id, attempt(1), { status: "retrying", nextAttemptAt: clock.toISOString() });
    expect(await store.failDelivery(d.id, 1, { code: "RETRIES_EXHAUSTED", message: "could not queue attempt 2" })).toBe(
      true,
    );
    expect(await store.getDelivery(d.id)).toMatchObject({ status: "failed", attempts: 1 });
  });

  it("a stale attempt's dead-lettering leaves a delivery that moved on alone", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_I"));
    await store.claimAttempt(d.id, 1, 60_000);
    await store.recordAttempt(d.id, attempt(1), { status: "retrying", nextAttemptAt: clock.toISOString() });
    await store.claimAttempt(d.id, 2, 60_000);
    expect(await store.failDelivery(d.id, 1, { code: "RETRIES_EXHAUSTED", message: "stale" })).toBe(false);
    await store.recordAttempt(d.id, { ...attempt(2), outcome: "delivered", statusCode: 200 }, { status: "succeeded" });
    expect(await store.failDelivery(d.id, 2, { code: "RETRIES_EXHAUSTED", message: "stale" })).toBe(false);
    expect(await store.getDelivery(d.id)).toMatchObject({ status: "succeeded" });
  });

  it("an attempt recorded after its delivery was failed from outside stands, and clears the failure", async () => {
    const { delivery: d } = await store.createDelivery(delivery("sub_J"));
    await store.claimAttempt(d.id, 1, 60_000);
    await store.failDelivery(d.id, 1, { code: "RETRIES_EXHAUSTED", message: "the message outlived the lease" });
    await store.recordAttempt(d.id, { ...attempt(1), outcome: "delivered", statusCode: 200 }, { status: "succeeded" });
    const found = await store.getDelivery(d.id);
    expect(found).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(found).not.toHaveProperty("failure");
  });

  it("lists a subscription's deliveries newest first, by status and since a time", async () => {
    const sub = newSubscriptionId();
    const older = await store.createDelivery(delivery(sub));
    clock = new Date(clock.getTime() + 10_000);
    const since = clock.toISOString();
    const newer = await store.createDelivery(delivery(sub));
    await store.claimAttempt(newer.delivery.id, 1, 60_000);
    await store.recordAttempt(newer.delivery.id, attempt(1), { status: "failed" });

    expect((await store.listDeliveries(sub)).map((d) => d.id)).toEqual([newer.delivery.id, older.delivery.id]);
    expect((await store.listDeliveries(sub, { status: "failed" })).map((d) => d.id)).toEqual([newer.delivery.id]);
    expect((await store.listDeliveries(sub, { since })).map((d) => d.id)).toEqual([newer.delivery.id]);
    expect(await store.listDeliveries(sub, { limit: 1 })).toHaveLength(1);
  });
});
