import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { createQuireClient, startListener } from "../src/index.ts";
import { cli, fakeApi, KEY, send } from "./fake-api.ts";

const secretOf = (byte: number) => `whsec_${Buffer.alloc(24, byte).toString("base64")}`;
const SECRET = secretOf(3);

/** The notifier's part `quire listen` needs: create the subscription (returning SECRET) and delete it. */
async function notifier(secret: string | null = SECRET) {
  return fakeApi({
    "POST /v1/subscriptions": send(201, {
      id: "sub_listen",
      kind: "webhook",
      url: "http://127.0.0.1/",
      status: "active",
      events: ["job.completed", "job.failed", "run.completed"],
      ...(secret ? { secret } : {}),
      createdAt: "2026-11-23T10:00:00Z",
    }),
    "DELETE /v1/subscriptions/sub_listen": send(204),
  });
}

/** POST an event to the listener the way Quire's notifier does, signed by `secrets` (one `v1,` each). */
async function deliver(
  url: string,
  type: string,
  data: Record<string, unknown>,
  secrets: string[] = [SECRET],
  tamper = false,
) {
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  const at = new Date();
  const body = JSON.stringify({ type, timestamp: at.toISOString(), data });
  const signature = secrets.map((s) => new Webhook(s).sign(id, at, body)).join(" ");
  const headers = {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signature,
    "content-type": "application/json",
  };
  return fetch(url, { method: "POST", body: tamper ? body.replace("job_", "job_X") : body, headers });
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("startListener", () => {
  it("subscribes a webhook pointing at its own loopback URL, for the events asked", async () => {
    const api = await notifier();
    const { io } = capture();
    const listener = await startListener({
      client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }),
      io,
      events: ["job.failed"],
    });
    expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(listener.subscriptionId).toBe("sub_listen");
    expect(api.seen[0]).toMatchObject({
      method: "POST",
      path: "/v1/subscriptions",
      body: { kind: "webhook", url: listener.url, events: ["job.failed"], description: "quire listen" },
    });
    await listener.stop();
  });

  it("answers 204 to a delivery signed with the subscription's secret and prints one line per event", async () => {
    const api = await notifier();
    const { out, io } = capture();
    const seen: string[] = [];
    const listener = await startListener({
      client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }),
      io,
      onEvent: (e) => seen.push(e.type),
    });
    const answers = [
      await deliver(listener.url, "job.completed", {
        jobId: "job_7",
        title: "Lease",
        classification: { label: "contract" },
        summary: { text: "Rent.\nMore." },
      }),
      await deliver(listener.url, "job.failed", { jobId: "job_8", reason: { code: "SUMMARY_FAILED", message: "…" } }),
      await deliver(listener.url, "run.completed", {
        runId: "run_1",
        total: 200,
        completed: 200,
        failed: 0,
        countsByClassification: {},
      }),
      await deliver(listener.url, "ping", { message: "Test delivery from Quire" }),
    ];
    expect(answers.map((r) => r.status)).toEqual([204, 204, 204, 204]);
    expect(out).toEqual([
      'job.completed job_7 contract "Lease" — Rent.',
      "job.failed job_8 SUMMARY_FAILED",
      "run.completed run_1 200/200 complete",
      "ping Test delivery from Quire",
    ]);
    expect(seen).toEqual(["job.completed", "job.failed", "run.completed", "ping"]);
    await listener.stop();
  });

  it("answers 401 to a tampered body or a signature by another secret, and prints an error line", async () => {
    const api = await notifier();
    const { out, err, io } = capture();
    const listener = await startListener({
      client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }),
      io,
    });
    expect((await deliver(listener.url, "job.completed", { jobId: "job_7" }, [SECRET], true)).status).toBe(401);
    expect((await deliver(listener.url, "job.completed", { jobId: "job_7" }, [secretOf(9)])).status).toBe(401);
    expect(out).toEqual([]);
    expect(err).toHaveLength(2);
    expect(err[0]).toContain("bad signature");
    await listener.stop();
  });

  it("accepts a delivery signed by several secrets during a rotation, one of them its own", async () => {
    const api = await notifier();
    const { out, io } = capture();
    const listener = await startListener({
      client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }),
      io,
    });
    expect(
      (
        await deliver(listener.url, "job.failed", { jobId: "job_1", reason: { code: "TIMEOUT" } }, [
          secretOf(9),
          SECRET,
        ])
      ).status,
    ).toBe(204);
    expect(out).toEqual(["job.failed job_1 TIMEOUT"]);
    await listener.stop();
  });

  it("--json prints each event as JSON, with its message id", async () => {
    const api = await notifier();
    const { out, io } = capture();
    const listener = await startListener({
      client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }),
      io,
      json: true,
    });
    await deliver(listener.url, "run.completed", { runId: "run_1", total: 1, completed: 1, failed: 0 });
    expect(JSON.parse(out[0]!)).toMatchObject({
      webhookId: expect.stringMatching(/^msg_/),
      type: "run.completed",
      data: { runId: "run_1" },
    });
    await listener.stop();
  });

  it("stop() deletes the subscription and closes the receiver", async () => {
    const api = await notifier();
    const { io } = capture();
    const listener = await startListener({
      client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }),
      io,
    });
    await listener.stop();
    await listener.stop(); // twice is harmless: one DELETE
    expect(api.seen.filter((r) => r.method === "DELETE")).toEqual([
      { method: "DELETE", path: "/v1/subscriptions/sub_listen", body: undefined },
    ]);
    await expect(fetch(listener.url, { method: "POST", body: "{}" })).rejects.toThrow();
  });

  it("tells a browser that it takes webhook POSTs", async () => {
    const api = await notifier();
    const { io } = capture();
    const listener = await startListener({
      client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }),
      io,
    });
    expect((await fetch(listener.url)).status).toBe(405);
    await listener.stop();
  });

  it("given a range of ports, listens on the first free one, and says so when none is", async () => {
    const api = await notifier();
    const { io } = capture();
    const client = createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY });
    // A port that is taken, with a free one after it.
    const taken = createServer();
    let first = 0;
    for (let tries = 0; tries < 20 && first === 0; tries++) {
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const port = (taken.address() as AddressInfo).port;
      const next = createServer();
      const free = await new Promise<boolean>((resolve) => {
        next.once("error", () => resolve(false));
        next.listen(port + 1, "127.0.0.1", () => next.close(() => resolve(true)));
      });
      if (free && port < 65535) first = port;
      else await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
    try {
      const listener = await startListener({ client, io, ports: { first, last: first + 1 } });
      expect(listener.url).toBe(`http://127.0.0.1:${first + 1}/`);
      await listener.stop();
      await expect(startListener({ client, io, ports: { first, last: first } })).rejects.toThrow(
        `ports ${first}-${first} are all in use; pass --port`,
      );
    } finally {
      taken.close();
    }
  });

  it("gives up, removing the subscription, when the notifier returns no secret to verify with", async () => {
    const api = await notifier(null);
    const { io } = capture();
    await expect(
      startListener({ client: createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY }), io }),
    ).rejects.toThrow("no signing secret");
    expect(api.seen.at(-1)).toMatchObject({ method: "DELETE", path: "/v1/subscriptions/sub_listen" });
  });
});

describe("quire listen", () => {
  it("prints where it listens, prints events until interrupted, then unsubscribes", async () => {
    const api = await notifier();
    let interrupt!: () => void;
    const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
    const { run, out, err } = cli("http://127.0.0.1:1", api.url, {
      env: { QUIRE_NOTIFIER_URL: api.url, QUIRE_API_KEY: KEY },
      untilInterrupted: () => interrupted,
    });
    const done = run("listen", "--events", "job.completed,run.completed");
    await expect.poll(() => err.length).toBe(1);
    const url = /listening on (\S+)/.exec(err[0]!)![1]!;
    expect(api.seen[0]!.body).toMatchObject({ kind: "webhook", url, events: ["job.completed", "run.completed"] });
    expect((await deliver(url, "run.completed", { runId: "run_2", total: 3, completed: 2, failed: 1 })).status).toBe(
      204,
    );
    expect(out).toEqual(["run.completed run_2 2/3 complete, 1 failed"]);
    interrupt();
    await done;
    expect(api.seen.at(-1)).toMatchObject({ method: "DELETE", path: "/v1/subscriptions/sub_listen" });
  });
});
