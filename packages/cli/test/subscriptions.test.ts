import { describe, expect, it } from "vitest";
import { cli, fakeApi, send } from "./fake-api.ts";

describe("quire subscribe", () => {
  it("--webhook posts the subscription and prints its id, status and the secret with a note to store it", async () => {
    const api = await fakeApi({
      "POST /v1/subscriptions": send(201, {
        id: "sub_1",
        kind: "webhook",
        url: "https://hooks.example.com/q",
        status: "active",
        events: ["job.completed"],
        secret: "whsec_abc",
        createdAt: "2026-11-23T10:00:00Z",
      }),
    });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run(
      "subscribe",
      "--webhook",
      "https://hooks.example.com/q",
      "--events",
      "job.completed",
      "--classification",
      "invoice, contract",
      "--description",
      "billing",
    );
    expect(api.seen[0]!.body).toEqual({
      kind: "webhook",
      url: "https://hooks.example.com/q",
      events: ["job.completed"],
      filter: { classification: ["invoice", "contract"] },
      description: "billing",
    });
    expect(out).toEqual([
      "sub_1 webhook active (job.completed)",
      "secret: whsec_abc   (store it now: it is shown only once, and verifies every delivery's signature)",
    ]);
  });

  it("--email --digest asks for a digest and says a confirmation was sent", async () => {
    const api = await fakeApi({
      "POST /v1/subscriptions": send(201, {
        id: "sub_2",
        kind: "email",
        address: "ada@example.com",
        mode: "digest",
        status: "pending_confirmation",
        events: ["run.completed"],
      }),
    });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run("subscribe", "--email", "ada@example.com", "--digest", "--events", "run.completed");
    expect(api.seen[0]!.body).toEqual({
      kind: "email",
      address: "ada@example.com",
      mode: "digest",
      events: ["run.completed"],
    });
    expect(out).toEqual([
      "sub_2 email pending_confirmation (run.completed)",
      "a confirmation link was sent to ada@example.com",
    ]);
  });

  it("refuses an unknown event type before calling anything", async () => {
    const api = await fakeApi({});
    const { run, err } = cli(api.url);
    await expect(run("subscribe", "--webhook", "https://x", "--events", "job.exploded")).rejects.toThrow();
    expect(err.join("\n")).toContain("events are job.completed, job.failed, run.completed");
    expect(api.seen).toHaveLength(0);
  });

  it("needs exactly one of --webhook and --email", async () => {
    const api = await fakeApi({});
    await expect(cli(api.url).run("subscribe")).rejects.toThrow("--webhook <url> or --email <address>");
    await expect(cli(api.url).run("subscribe", "--webhook", "https://x", "--email", "a@b.c")).rejects.toThrow();
    await expect(cli(api.url).run("subscribe", "--webhook", "https://x", "--digest")).rejects.toThrow(
      "--digest is for email subscriptions",
    );
    expect(api.seen).toHaveLength(0);
  });
});

describe("quire unsubscribe", () => {
  it("deletes the subscription", async () => {
    const api = await fakeApi({ "DELETE /v1/subscriptions/sub_1": send(204) });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run("unsubscribe", "sub_1");
    expect(api.seen).toEqual([{ method: "DELETE", path: "/v1/subscriptions/sub_1", body: undefined }]);
    expect(out).toEqual(["sub_1 deleted"]);
  });
});

describe("quire subscriptions", () => {
  const subscriptions = [
    {
      id: "sub_1",
      kind: "email",
      address: "ada@example.com",
      mode: "digest",
      events: ["run.completed"],
      status: "pending_confirmation",
      createdAt: "2026-11-23T10:00:00Z",
    },
    {
      id: "sub_22",
      kind: "webhook",
      url: "https://h.example/q",
      events: ["job.completed", "job.failed"],
      status: "disabled",
      disabledReason: { code: "ENDPOINT_FAILING", message: "…" },
      createdAt: "2026-11-23T10:00:00Z",
    },
  ];

  it("prints a table of id, kind, target, events and status", async () => {
    const api = await fakeApi({ "GET /v1/subscriptions": send(200, { subscriptions }) });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run("subscriptions");
    expect(out).toEqual([
      "ID      KIND     TARGET                    EVENTS                    STATUS",
      "sub_1   email    ada@example.com (digest)  run.completed             pending_confirmation",
      "sub_22  webhook  https://h.example/q       job.completed,job.failed  disabled: ENDPOINT_FAILING",
    ]);
  });

  it("--json prints the list", async () => {
    const api = await fakeApi({ "GET /v1/subscriptions": send(200, { subscriptions }) });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run("subscriptions", "--json");
    expect(JSON.parse(out[0]!)).toEqual(subscriptions);
  });
});

describe("quire deliveries", () => {
  it("prints a subscription's deliveries as a table, filtered by --status", async () => {
    const api = await fakeApi({
      "GET /v1/subscriptions/sub_1/deliveries": send(200, {
        deliveries: [
          {
            id: "dlv_1",
            subscriptionId: "sub_1",
            eventType: "job.completed",
            eventId: "e1",
            status: "failed",
            attempts: 8,
            createdAt: "2026-11-23T10:00:00Z",
            lastAttempt: { attempt: 8, at: "2026-11-23T11:00:00Z", statusCode: 503, latencyMs: 12 },
          },
          {
            id: "dlv_2",
            subscriptionId: "sub_1",
            eventType: "run.completed",
            eventId: "e2",
            status: "failed",
            attempts: 8,
            createdAt: "2026-11-23T10:00:00Z",
            lastAttempt: {
              attempt: 8,
              at: "2026-11-23T11:00:00Z",
              latencyMs: 5000,
              error: { code: "TIMEOUT", message: "no answer in 5 s" },
            },
          },
        ],
      }),
    });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run("deliveries", "sub_1", "--status", "failed");
    expect(api.seen[0]!.path).toBe("/v1/subscriptions/sub_1/deliveries?status=failed");
    expect(out).toEqual([
      "ID     EVENT          STATUS  ATTEMPTS  LAST            NEXT",
      "dlv_1  job.completed  failed  8         503 12ms",
      "dlv_2  run.completed  failed  8         TIMEOUT 5000ms",
    ]);
  });
});

describe("quire replay", () => {
  it("replays one delivery by its id", async () => {
    const api = await fakeApi({
      "POST /v1/deliveries/dlv_1/replay": send(202, { deliveryId: "dlv_2", replayOf: "dlv_1" }),
    });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run("replay", "dlv_1");
    expect(api.seen[0]).toMatchObject({ method: "POST", path: "/v1/deliveries/dlv_1/replay" });
    expect(out).toEqual(["dlv_2 replays dlv_1"]);
  });

  it("--subscription --since replays every failed delivery since then", async () => {
    const api = await fakeApi({
      "POST /v1/subscriptions/sub_1/replay": send(202, { replayed: 3, deliveryIds: ["dlv_a", "dlv_b", "dlv_c"] }),
    });
    const { run, out } = cli("http://127.0.0.1:1", api.url);
    await run("replay", "--subscription", "sub_1", "--since", "2026-11-23T09:00:00Z");
    expect(api.seen[0]).toMatchObject({
      method: "POST",
      path: "/v1/subscriptions/sub_1/replay",
      body: { since: "2026-11-23T09:00:00.000Z" },
    });
    expect(out).toEqual(["3 failed deliveries replayed"]);
  });

  it("needs a delivery id or --subscription with a valid --since", async () => {
    const api = await fakeApi({});
    await expect(cli(api.url).run("replay")).rejects.toThrow(
      "give a delivery id, or --subscription <id> --since <time>",
    );
    await expect(cli(api.url).run("replay", "--subscription", "sub_1", "--since", "yesterday")).rejects.toThrow(
      "--since yesterday is not a time",
    );
    await expect(cli(api.url).run("replay", "dlv_1", "--subscription", "sub_1")).rejects.toThrow("not both");
    expect(api.seen).toHaveLength(0);
  });
});
