import { randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startPipeline, waitForJob, type Pipeline } from "./support/pipeline.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";

// Hours become seconds: 5s,5m,30m → 5 ms, 300 ms, 1.8 s (SQS delays round up to whole seconds).
const TIME_SCALE = 0.001;
const SCHEDULE = "5s,5m,30m";
const SCHEDULED_DELAYS_MS = [5_000, 300_000, 1_800_000].map((ms) => ms * TIME_SCALE);

type Json = Record<string, any>;
let pipeline: Pipeline;
const receivers: Receiver[] = [];

beforeAll(async () => {
  pipeline = await startPipeline({
    env: {
      QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.2",
      QUIRE_WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
      QUIRE_NOTIFIER_TIME_SCALE: String(TIME_SCALE),
      QUIRE_WEBHOOK_TIMEOUT_MS: "3000",
    },
  });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await pipeline?.stop();
});
// Every webhook a spec's receiver got verifies with its subscription's secret, whatever the spec checks.
afterEach(() => {
  for (const r of receivers) r.assertVerified();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}
const json = async (response: Response): Promise<Json> => (await response.json()) as Json;

/**
 * Every spec tags its documents and filters its subscription on the tag, so specs do not see each
 * other's events. The receiver at the URL verifies everything it gets with the new secret.
 */
async function subscribe(input: Json): Promise<Json> {
  const response = await pipeline.notifierRequest("/v1/subscriptions", { json: input });
  const body = await json(response);
  expect(response.status, JSON.stringify(body)).toBe(201);
  if (body.secret) receivers.find((r) => r.url === input.url)?.verifyWith(body.secret);
  return body;
}
async function submit(
  tag: string,
  text = "This lease agreement between the landlord and the tenant sets the monthly rent and the term of the tenancy.",
  extra: Json = {},
) {
  const response = await pipeline.request("/v1/documents", {
    json: { text, title: `Doc ${tag}`, metadata: { spec: tag }, ...extra },
  });
  expect(response.status).toBe(202);
  return (await json(response)).jobId as string;
}
async function deliveriesOf(subscriptionId: string): Promise<Json[]> {
  return (await json(await pipeline.notifierRequest(`/v1/subscriptions/${subscriptionId}/deliveries`))).deliveries;
}
async function waitForDelivery(subscriptionId: string, done: (d: Json) => boolean, timeoutMs = 20_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await deliveriesOf(subscriptionId)).find(done);
    if (found) return await json(await pipeline.notifierRequest(`/v1/deliveries/${found.id}`));
    if (Date.now() > deadline)
      throw new Error(
        `no matching delivery for ${subscriptionId}: ${JSON.stringify(await deliveriesOf(subscriptionId))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
const finished = (d: Json) => d.status === "succeeded" || d.status === "failed";

describe("webhook delivery (Standard Webhooks)", () => {
  it("signs each delivery so the standardwebhooks verifier accepts it, with { type, timestamp, data } as the body", async () => {
    const endpoint = await receiver();
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    expect(sub.secret).toMatch(/^whsec_/);
    const jobId = await submit(tag);

    const [request] = await endpoint.waitForRequests(1);
    const verified = new Webhook(sub.secret).verify(request!.body, request!.headers as Record<string, string>) as Json;
    expect(verified.type).toBe("job.completed");
    expect(verified.data.jobId).toBe(jobId);
    expect(verified.data.summary.text).toBeTruthy();
    expect(verified.data.classification.label).toBeTruthy();
    expect(request!.headers["webhook-id"]).toMatch(/^msg_/);
    const delivery = await waitForDelivery(sub.id, finished);
    expect(delivery).toMatchObject({ status: "succeeded", attempts: 1, eventType: "job.completed" });
    expect(delivery.log).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "delivered", statusCode: 204, latencyMs: expect.any(Number) }),
    ]);
  });

  it("retries a failing endpoint on the (time-scaled) schedule and delivers once it is up, with the same webhook-id", async () => {
    const endpoint = await receiver();
    endpoint.respondWith((n) => (n <= 3 ? 503 : 200));
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    await submit(tag);

    const requests = await endpoint.waitForRequests(4);
    expect(new Set(requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(new Set(requests.map((r) => r.headers["webhook-timestamp"])).size).toBeGreaterThanOrEqual(2);
    // Each retry waits its own delay in SQS: at least the scheduled time, and at most that
    // rounded up to SQS's whole seconds plus the attempt's own time. The third delay (1.8 s →
    // 2 s) differs from the first two (→ 1 s), so a constant, shifted or unscaled schedule fails.
    const gaps = requests.slice(1).map((r, i) => r.at - requests[i]!.at);
    gaps.forEach((gap, i) => {
      const scheduled = SCHEDULED_DELAYS_MS[i]!;
      expect(gap, `gap before attempt ${i + 2}`).toBeGreaterThanOrEqual(scheduled);
      expect(gap, `gap before attempt ${i + 2}`).toBeLessThan(Math.ceil(scheduled / 1000) * 1000 + 750);
    });

    const delivery = await waitForDelivery(sub.id, finished);
    expect(delivery.status).toBe("succeeded");
    expect(delivery.log.map((a: Json) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [1, 503, "failed"],
      [2, 503, "failed"],
      [3, 503, "failed"],
      [4, 200, "delivered"],
    ]);
    expect(delivery.log[0].response.body).toBe("answered 503");
  });

  it("retries while the endpoint is down (connection refused) and delivers once it is back up, with the message's webhook-id", async () => {
    const endpoint = await receiver();
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    await endpoint.close();
    await submit(tag);

    const down = await waitForDelivery(sub.id, (d) => d.status === "retrying" && d.attempts >= 2);
    expect(down.log.map((a: Json) => [a.outcome, a.error?.code])).toEqual(
      Array.from({ length: down.attempts }, () => ["failed", "CONNECTION_FAILED"]),
    );
    expect(endpoint.requests).toHaveLength(0);

    await endpoint.reopen();
    const [request] = await endpoint.waitForRequests(1);
    const delivery = await waitForDelivery(sub.id, finished);
    expect(delivery.status).toBe("succeeded");
    expect(delivery.log.at(-1)).toMatchObject({ outcome: "delivered", attempt: delivery.attempts });
    expect(delivery.attempts).toBeGreaterThan(down.attempts);
    expect(request!.headers["webhook-id"]).toBe(delivery.messageId);
  });

  it("gives up after the last scheduled retry, and a replay delivers the same message once the endpoint is back", async () => {
    const endpoint = await receiver();
    endpoint.respondWith(500);
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    const since = new Date().toISOString();
    await submit(tag);

    const failed = await waitForDelivery(sub.id, finished);
    expect(failed.status).toBe("failed");
    expect(failed.attempts).toBe(SCHEDULE.split(",").length + 1);
    expect(endpoint.requests).toHaveLength(4);

    endpoint.respondWith(204);
    const replayed = await json(
      await pipeline.notifierRequest(`/v1/deliveries/${failed.id}/replay`, { method: "POST" }),
    );
    expect(replayed.replayOf).toBe(failed.id);
    await endpoint.waitForRequests(5);
    expect(endpoint.requests[4]!.headers["webhook-id"]).toBe(endpoint.requests[0]!.headers["webhook-id"]);
    const replay = await waitForDelivery(sub.id, (d) => d.id === replayed.deliveryId && finished(d));
    expect(replay).toMatchObject({ status: "succeeded", replayOf: failed.id });

    // The message was delivered by its replay: a bulk replay has nothing left to send.
    const bulk = await json(await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/replay`, { json: { since } }));
    expect(bulk.replayed).toBe(0);
  });

  it("a bulk replay sends each still-failing message once, however many earlier replays failed", async () => {
    const endpoint = await receiver();
    endpoint.respondWith(500);
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    const since = new Date().toISOString();
    await submit(tag);
    await waitForDelivery(sub.id, finished);
    const attempts = SCHEDULE.split(",").length + 1;

    for (let round = 1; round <= 2; round++) {
      const bulk = await json(
        await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/replay`, { json: { since } }),
      );
      expect(bulk.replayed, `bulk replay ${round}`).toBe(1);
      await waitForDelivery(sub.id, (d) => d.id === bulk.deliveryIds[0] && finished(d));
      expect(endpoint.requests).toHaveLength(attempts * (round + 1));
    }
    expect(new Set(endpoint.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
  });

  it("a bulk replay skips a message whose replay is still being tried", async () => {
    const endpoint = await receiver();
    endpoint.respondWith(500);
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    const since = new Date().toISOString();
    await submit(tag);
    await waitForDelivery(sub.id, finished);

    const first = await json(await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/replay`, { json: { since } }));
    expect(first.replayed).toBe(1);
    // Its retries take seconds (1 s, 1 s and 2 s in SQS): still underway for the second request.
    const second = await json(
      await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/replay`, { json: { since } }),
    );
    expect(second).toEqual({ replayed: 0, deliveryIds: [] });
  });

  it("refuses to replay to a disabled subscription with 409 SUBSCRIPTION_NOT_ACTIVE, creating nothing", async () => {
    const endpoint = await receiver();
    endpoint.respondWith(410);
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    const since = new Date().toISOString();
    await submit(tag);
    const gone = await waitForDelivery(sub.id, finished);
    expect((await json(await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}`))).status).toBe("disabled");

    for (const response of [
      await pipeline.notifierRequest(`/v1/deliveries/${gone.id}/replay`, { method: "POST" }),
      await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/replay`, { json: { since } }),
    ]) {
      expect(response.status).toBe(409);
      expect((await json(response)).error.code).toBe("SUBSCRIPTION_NOT_ACTIVE");
    }
    expect(await deliveriesOf(sub.id)).toHaveLength(1);
  });

  it("disables the subscription when the endpoint answers 410 Gone, and it can be re-enabled", async () => {
    const endpoint = await receiver();
    endpoint.respondWith(410);
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    await submit(tag);

    const delivery = await waitForDelivery(sub.id, finished);
    expect(delivery).toMatchObject({ status: "failed", attempts: 1 });
    const disabled = await json(await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}`));
    expect(disabled).toMatchObject({ status: "disabled", disabledReason: { code: "ENDPOINT_GONE" } });

    const enabled = await json(
      await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/enable`, { method: "POST" }),
    );
    expect(enabled.status).toBe("active");
    expect(enabled.disabledReason).toBeUndefined();
  });

  it("does not follow a redirect to a forbidden address: the target receives nothing", async () => {
    const victim = await startReceiver("127.0.0.1");
    receivers.push(victim);
    const endpoint = await receiver();
    endpoint.respondWith(() => ({ status: 302, headers: { location: victim.url } }));
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    await submit(tag);

    const delivery = await waitForDelivery(sub.id, (d) => d.attempts >= 1);
    expect(delivery.log[0]).toMatchObject({ statusCode: 302, error: { code: "REDIRECT_NOT_FOLLOWED" } });
    expect(victim.requests).toHaveLength(0);
  });

  it("signs with both the old and the new secret during a rotation's overlap", async () => {
    const endpoint = await receiver();
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    const rotation = await json(
      await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/rotate-secret`, { method: "POST" }),
    );
    expect(rotation.secret).toMatch(/^whsec_/);
    expect(rotation.secret).not.toBe(sub.secret);
    expect(Date.parse(rotation.previousSecretExpiresAt)).toBeGreaterThan(Date.now());
    await submit(tag);

    const [request] = await endpoint.waitForRequests(1);
    const headers = request!.headers as Record<string, string>;
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(() => new Webhook(sub.secret).verify(request!.body, headers)).not.toThrow();
    expect(() => new Webhook(rotation.secret).verify(request!.body, headers)).not.toThrow();
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(24, 7).toString("base64")}`).verify(request!.body, headers),
    ).toThrow();
  });

  it("sends a job's completion once, however many Job Completed events (duplicates, copies with new ids) claim it", async () => {
    const endpoint = await receiver();
    const tag = randomUUID();
    const sub = await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { metadata: { spec: [tag] } },
    });
    const jobId = await submit(tag);
    expect((await waitForJob(pipeline, jobId)).status).toBe("complete");
    await endpoint.waitForRequests(1);
    const provenance = {
      modelId: "m",
      promptVersion: "v1",
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    };
    const event = (id: string) => ({
      version: "0",
      id,
      "detail-type": "Job Completed",
      source: "quire.summarizer",
      account: "000000000000",
      time: new Date().toISOString(),
      region: "us-east-1",
      resources: [],
      detail: {
        schemaVersion: 1,
        jobId,
        metadata: { spec: tag },
        summary: { text: "A summary.", ...provenance },
        classification: { label: "contract", confidence: 0.9, ...provenance },
        submittedAt: new Date().toISOString(),
        completedAt: new Date().toISOString(),
      },
    });
    // The same event delivered three times, and two more events claiming the same completion.
    const copies = [event(randomUUID())];
    copies.push(copies[0]!, copies[0]!, event(randomUUID()), event(randomUUID()));
    for (const copy of copies) {
      await pipeline.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: pipeline.config.QUIRE_QUEUE_NOTIFIER_URL,
          MessageBody: JSON.stringify(copy),
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 2500));
    expect(endpoint.requests).toHaveLength(1);
    expect(await deliveriesOf(sub.id)).toHaveLength(1);
  });

  it("a test ping reaches the endpoint as type ping", async () => {
    const endpoint = await receiver();
    const sub = await subscribe({ kind: "webhook", url: endpoint.url, events: ["run.completed"] });
    const { deliveryId } = await json(
      await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/test`, { method: "POST" }),
    );
    const [request] = await endpoint.waitForRequests(1);
    expect(
      (new Webhook(sub.secret).verify(request!.body, request!.headers as Record<string, string>) as Json).type,
    ).toBe("ping");
    expect((await waitForDelivery(sub.id, (d) => d.id === deliveryId && finished(d))).status).toBe("succeeded");
  });
});

describe("filters", () => {
  it("delivers only the events whose classification and metadata the filter names", async () => {
    const endpoint = await receiver();
    const tag = randomUUID();
    await subscribe({
      kind: "webhook",
      url: endpoint.url,
      events: ["job.completed"],
      filter: { classification: ["invoice"], metadata: { spec: [tag] } },
    });
    const invoice = await submit(
      tag,
      "Invoice number 4411. Amount due: 1,200 EUR for freight services. Payment terms: 30 days. Total due upon receipt of this invoice.",
    );
    const lease = await submit(tag);
    const other = await submit(
      randomUUID(),
      "Invoice number 9. Amount due: 10 EUR. Total due upon receipt of this invoice, payment terms 30 days.",
    );
    for (const id of [invoice, lease, other]) await waitForJob(pipeline, id);
    expect((await waitForJob(pipeline, invoice)).classification).toMatchObject({ label: "invoice" });

    await endpoint.waitForRequests(1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(endpoint.requests.map((r) => (JSON.parse(r.body) as Json).data.jobId)).toEqual([invoice]);
  });

  it("refuses a filter pattern EventBridge would refuse, naming the problem", async () => {
    const response = await pipeline.notifierRequest("/v1/subscriptions", {
      json: {
        kind: "webhook",
        url: "http://127.0.0.2:9/hooks",
        filter: { pattern: { data: { x: [{ wildcard: 5 }] } } },
      },
    });
    expect(response.status).toBe(400);
    expect((await json(response)).error.code).toBe("INVALID_FILTER");
  });
});

describe("SSRF guard", () => {
  for (const url of [
    "http://127.0.0.1:9/hooks",
    "http://10.0.0.7/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9/hooks",
    "http://[::ffff:127.0.0.1]:9/hooks",
    "http://localhost:9/hooks",
    "http://100.64.0.1/hooks",
  ]) {
    it(`refuses to subscribe ${url}`, async () => {
      const response = await pipeline.notifierRequest("/v1/subscriptions", { json: { kind: "webhook", url } });
      const body = await json(response);
      expect(response.status).toBe(422);
      expect(body.error.code).toBe("WEBHOOK_URL_NOT_ALLOWED");
    });
  }

  it("makes no request to a refused address", async () => {
    const victim = await startReceiver("127.0.0.1");
    receivers.push(victim);
    const response = await pipeline.notifierRequest("/v1/subscriptions", {
      json: { kind: "webhook", url: victim.url },
    });
    expect(response.status).toBe(422);
    await new Promise((r) => setTimeout(r, 200));
    expect(victim.requests).toHaveLength(0);
  });
});

describe("email", () => {
  const outbox = (address: string) => pipeline.devcloud.outbox.list({ to: address });
  async function confirmedEmailSubscription(input: Json): Promise<Json> {
    const sub = await subscribe(input);
    expect(sub.status).toBe("pending_confirmation");
    const [confirmation] = outbox(input.address);
    expect(confirmation?.subject).toContain("Confirm");
    const link = confirmation!.text!.match(/http\S+email\/confirm\S+/)![0];
    const path = new URL(link).pathname + new URL(link).search;
    const confirmed = await fetch(`${pipeline.notifierApi}${path}`);
    expect(confirmed.status).toBe(200);
    expect((await json(await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}`))).status).toBe("active");
    return sub;
  }

  it("sends nothing but the confirmation until the address confirms", async () => {
    const address = `pending-${randomUUID().slice(0, 8)}@example.com`;
    const tag = randomUUID();
    const sub = await subscribe({ kind: "email", address, filter: { metadata: { spec: [tag] } } });
    await waitForJob(pipeline, await submit(tag));
    await new Promise((r) => setTimeout(r, 500));
    expect(outbox(address).map((m) => m.subject)).toEqual(["[Quire] Confirm your notification subscription"]);
    expect(await deliveriesOf(sub.id)).toEqual([]);
  });

  it("per-job: one email per job with title, classification, summary and a link, as text and HTML", async () => {
    const address = `per-job-${randomUUID().slice(0, 8)}@example.com`;
    const tag = randomUUID();
    const sub = await confirmedEmailSubscription({ kind: "email", address, filter: { metadata: { spec: [tag] } } });
    const jobId = await submit(tag);
    const job = await waitForJob(pipeline, jobId);
    await waitForDelivery(sub.id, finished);

    const mails = outbox(address).filter((m) => !m.subject.includes("Confirm"));
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail!.subject).toBe(`[Quire] Doc ${tag}: ${(job.classification as Json).label}`);
    expect(mail!.text).toContain((job.summary as Json).text);
    expect(mail!.text).toContain(`/v1/jobs/${jobId}`);
    expect(mail!.html).toContain(`<a href="http://127.0.0.1:3000/v1/jobs/${jobId}">`);
  });

  it("digest: a run of several documents sends one email with counts per classification", async () => {
    const address = `digest-${randomUUID().slice(0, 8)}@example.com`;
    await confirmedEmailSubscription({ kind: "email", address, mode: "digest" });
    const documents = [
      {
        text: "Invoice number 12. Amount due: 300 EUR. Total due upon receipt of this invoice. Payment terms 30 days.",
      },
      { text: "This lease agreement between the landlord and the tenant sets the rent and the term of the tenancy." },
      {
        text: "Invoice number 13. Amount due: 500 EUR. Total due upon receipt of this invoice. Payment terms 30 days.",
      },
    ];
    const run = await json(await pipeline.request("/v1/runs", { json: { documents } }));
    const deadline = Date.now() + 20_000;
    while (outbox(address).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));

    const mails = outbox(address).filter((m) => !m.subject.includes("Confirm"));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toContain(`Run ${run.runId} finished: 3/3 complete`);
    expect(mails[0]!.text).toMatch(/invoice\s+2/);
    expect(mails[0]!.html).toContain("<table");
  });
});

describe("subscriptions API", () => {
  it("lists, shows and deletes subscriptions without ever showing secrets again", async () => {
    const endpoint = await receiver();
    const sub = await subscribe({ kind: "webhook", url: endpoint.url, description: "listing spec" });
    const listed = (await json(await pipeline.notifierRequest("/v1/subscriptions"))).subscriptions as Json[];
    const mine = listed.find((s) => s.id === sub.id)!;
    expect(mine).toMatchObject({ kind: "webhook", url: endpoint.url, status: "active", description: "listing spec" });
    expect(JSON.stringify(listed)).not.toContain("whsec_");
    expect((await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}`);
    expect(gone.status).toBe(404);
    expect((await json(gone)).error.code).toBe("SUBSCRIPTION_NOT_FOUND");
  });

  it("refuses a body over 64 KiB with 413 PAYLOAD_TOO_LARGE, closing the connection it did not read to the end", async () => {
    const filter = { metadata: { client: Array.from({ length: 20_000 }, (_, i) => `client-${i}-${"x".repeat(20)}`) } };
    const response = await pipeline.notifierRequest("/v1/subscriptions", {
      json: { kind: "webhook", url: "http://127.0.0.2:9/hooks", filter },
    });
    expect(response.status).toBe(413);
    expect(response.headers.get("connection")).toBe("close");
    expect((await json(response)).error.code).toBe("PAYLOAD_TOO_LARGE");
    // The client's next request does not land on the half-read connection (and is answered).
    expect((await pipeline.notifierRequest("/v1/subscriptions", { json: { kind: "webhook" } })).status).toBe(400);
  });

  it("refuses a filter pattern nested deeper than 10 levels with 400 FILTER_TOO_DEEP", async () => {
    let pattern: Json = { a: ["x"] };
    for (let i = 0; i < 3000; i++) pattern = { a: pattern };
    const response = await pipeline.notifierRequest("/v1/subscriptions", {
      json: { kind: "webhook", url: "http://127.0.0.2:9/hooks", filter: { pattern } },
    });
    expect(response.status).toBe(400);
    const { error } = await json(response);
    expect(error.code).toBe("FILTER_TOO_DEEP");
    expect(error.message).toContain("filter.pattern");
  });

  it("refuses a filter over 16 KiB with 400 FILTER_TOO_LARGE", async () => {
    const filter = { classification: Array.from({ length: 1000 }, (_, i) => `label-${i}-${"x".repeat(20)}`) };
    const response = await pipeline.notifierRequest("/v1/subscriptions", {
      json: { kind: "webhook", url: "http://127.0.0.2:9/hooks", filter },
    });
    expect(response.status).toBe(400);
    expect((await json(response)).error.code).toBe("FILTER_TOO_LARGE");
  });

  it("answers bad input with specific codes", async () => {
    const invalid = await pipeline.notifierRequest("/v1/subscriptions", {
      json: { kind: "webhook", url: "ftp://example.com", events: ["job.exploded"] },
    });
    expect(invalid.status).toBe(400);
    const error = (await json(invalid)).error;
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toContain("url");
    expect(error.message).toContain("events");
    const unauthorised = await fetch(`${pipeline.notifierApi}/v1/subscriptions`);
    expect(unauthorised.status).toBe(401);
    expect((await pipeline.notifierRequest("/v1/deliveries/dlv_nope")).status).toBe(404);
  });
});
