import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { createAddressGuard, generateWebhookSecret, sendWebhook, signWebhook } from "../src/index.ts";

interface Received {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A real HTTP receiver on loopback that records every request and answers with `answer`. */
async function receiver(answer: (res: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      received.push({ method: req.method ?? "", headers: req.headers, body });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  cleanups.push(close);
  const { port } = server.address() as AddressInfo;
  return { received, port, url: `http://127.0.0.1:${port}/hooks`, close };
}

const secret = generateWebhookSecret();
const signed = () =>
  signWebhook({
    messageId: "msg_send",
    type: "job.completed",
    data: { jobId: "job_1" },
    timestamp: new Date(),
    secrets: [secret],
  });
const verifies = (request: Received) =>
  new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
const loopback = createAddressGuard({ allowlist: "127.0.0.1" });

describe("sending a webhook: answers", () => {
  it("a 2xx is delivered, with its status, latency and response body recorded", async () => {
    const target = await receiver((res) => res.writeHead(202).end("thanks"));
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback });
    expect(attempt).toEqual({
      outcome: "delivered",
      statusCode: 202,
      latencyMs: expect.any(Number),
      response: { body: "thanks", truncated: false },
      requested: [target.url],
    });
    expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("the receiver gets a POST that the standardwebhooks verifier accepts", async () => {
    const target = await receiver((res) => res.writeHead(200).end());
    await sendWebhook({ url: target.url, signed: signed(), guard: loopback });
    expect(target.received).toHaveLength(1);
    expect(target.received[0]!.method).toBe("POST");
    expect(verifies(target.received[0]!)).toEqual({
      type: "job.completed",
      timestamp: expect.any(String),
      data: { jobId: "job_1" },
    });
  });

  it("keeps no more of a 100 KB response than the default 4096-byte cap, and says it truncated", async () => {
    const target = await receiver((res) => res.writeHead(200).end("x".repeat(100_000)));
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback });
    expect(attempt.outcome).toBe("delivered");
    expect(attempt.response?.truncated).toBe(true);
    expect(attempt.response?.body.length).toBeLessThanOrEqual(4096);
    expect(attempt.response?.body).toBe("x".repeat(4096));
  });

  it("stops reading an endless response at the cap and hangs up", async () => {
    let hungUp!: () => void;
    const hangUp = new Promise<void>((resolve) => (hungUp = resolve));
    const target = await receiver((res) => {
      res.on("close", hungUp).on("error", () => {});
      res.writeHead(200);
      const pump = () => {
        while (!res.destroyed && res.write("y".repeat(16_384)));
      };
      res.on("drain", pump);
      pump();
    });
    const attempt = await sendWebhook({
      url: target.url,
      signed: signed(),
      guard: loopback,
      maxResponseBytes: 1000,
      timeoutMs: 5_000,
    });
    expect(attempt).toMatchObject({ outcome: "delivered", response: { body: "y".repeat(1000), truncated: true } });
    await hangUp;
  });

  it("a 500 fails as HTTP_STATUS with the status code", async () => {
    const target = await receiver((res) => res.writeHead(500).end("oops"));
    expect(await sendWebhook({ url: target.url, signed: signed(), guard: loopback })).toMatchObject({
      outcome: "failed",
      statusCode: 500,
      error: { code: "HTTP_STATUS" },
      response: { body: "oops", truncated: false },
    });
  });

  it("410 Gone is its own outcome, so the subscription can be disabled", async () => {
    const target = await receiver((res) => res.writeHead(410).end());
    expect(await sendWebhook({ url: target.url, signed: signed(), guard: loopback })).toMatchObject({
      outcome: "gone",
      statusCode: 410,
    });
  });
});

describe("sending a webhook: time and network failures", () => {
  it("a receiver slower than timeoutMs fails as TIMEOUT, soon after the timeout", async () => {
    const target = await receiver((res) => setTimeout(() => res.writeHead(200).end(), 5_000).unref());
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback, timeoutMs: 300 });
    expect(attempt).toMatchObject({ outcome: "failed", error: { code: "TIMEOUT" }, requested: [target.url] });
    expect(attempt.latencyMs).toBeGreaterThanOrEqual(250);
    expect(attempt.latencyMs).toBeLessThan(1_500);
  });

  it("the timeout covers the response body: a 2xx whose body stalls ends at the deadline, delivered with what arrived", async () => {
    const target = await receiver((res) => {
      res.writeHead(200);
      res.write("partial");
    });
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback, timeoutMs: 300 });
    expect(attempt).toMatchObject({
      outcome: "delivered",
      statusCode: 200,
      response: { body: "partial", truncated: true },
    });
    expect(attempt.latencyMs).toBeLessThan(1_500);
  });

  it("the timeout covers resolving the name: a resolver that never answers fails as TIMEOUT, nothing requested", async () => {
    const guard = createAddressGuard({ lookup: () => new Promise(() => {}) });
    const attempt = await sendWebhook({ url: "http://hooks.example.test/", signed: signed(), guard, timeoutMs: 200 });
    expect(attempt).toMatchObject({ outcome: "failed", error: { code: "TIMEOUT" }, requested: [] });
  });

  it("a closed port fails as CONNECTION_FAILED", async () => {
    const target = await receiver((res) => res.end());
    target.close();
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback });
    expect(attempt).toMatchObject({
      outcome: "failed",
      error: { code: "CONNECTION_FAILED", message: expect.stringContaining("ECONNREFUSED") },
    });
    expect(attempt.statusCode).toBeUndefined();
  });
});

describe("sending a webhook: the guard", () => {
  it("a target the guard refuses is refused with the guard's code and never requested", async () => {
    const target = await receiver((res) => res.end());
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: createAddressGuard() });
    expect(attempt).toMatchObject({ outcome: "refused", error: { code: "ADDRESS_NOT_ALLOWED" }, requested: [] });
    expect(target.received).toHaveLength(0);
  });

  it("connects to the address the guard vetted, not to a fresh DNS answer, keeping the name in the Host header", async () => {
    const target = await receiver((res) => res.writeHead(200).end());
    // hooks.example.test exists in no DNS: only the guard's injected resolver knows it.
    const guard = createAddressGuard({
      allowlist: "127.0.0.1",
      lookup: async (host) => (host === "hooks.example.test" ? [{ address: "127.0.0.1", family: 4 }] : []),
    });
    const attempt = await sendWebhook({
      url: `http://hooks.example.test:${target.port}/hooks`,
      signed: signed(),
      guard,
    });
    expect(attempt).toMatchObject({
      outcome: "delivered",
      requested: [`http://hooks.example.test:${target.port}/hooks`],
    });
    expect(target.received[0]!.headers.host).toBe(`hooks.example.test:${target.port}`);
  });
});

describe("sending a webhook: redirects", () => {
  it("by default a 302 fails as REDIRECT_NOT_FOLLOWED and its Location is never requested", async () => {
    const elsewhere = await receiver((res) => res.end());
    const target = await receiver((res) => res.writeHead(302, { location: elsewhere.url }).end());
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback });
    expect(attempt).toMatchObject({
      outcome: "failed",
      statusCode: 302,
      error: { code: "REDIRECT_NOT_FOLLOWED" },
      requested: [target.url],
    });
    expect(elsewhere.received).toHaveLength(0);
  });

  it("when following, a redirect to an address the guard refuses is refused before it is requested", async () => {
    const victim = await receiver((res) => res.end());
    const target = await receiver((res) => res.writeHead(307, { location: victim.url }).end());
    const origin = `http://localhost:${target.port}/hooks`;
    const attempt = await sendWebhook({
      url: origin,
      signed: signed(),
      guard: createAddressGuard({ allowlist: "localhost" }),
      maxRedirects: 2,
    });
    expect(attempt).toMatchObject({ outcome: "refused", error: { code: "ADDRESS_NOT_ALLOWED" }, requested: [origin] });
    expect(target.received).toHaveLength(1);
    expect(victim.received).toHaveLength(0);
  });

  it("when following, an allowed redirect target gets the same signed POST, and both URLs are recorded", async () => {
    const final = await receiver((res) => res.writeHead(204).end());
    const target = await receiver((res) => res.writeHead(302, { location: final.url }).end());
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback, maxRedirects: 2 });
    expect(attempt).toMatchObject({ outcome: "delivered", statusCode: 204, requested: [target.url, final.url] });
    expect(final.received[0]!.method).toBe("POST");
    expect(() => verifies(final.received[0]!)).not.toThrow();
  });

  it("when following, a 303 also re-POSTs the body rather than switching to GET", async () => {
    const final = await receiver((res) => res.writeHead(200).end());
    const target = await receiver((res) => res.writeHead(303, { location: final.url }).end());
    await sendWebhook({ url: target.url, signed: signed(), guard: loopback, maxRedirects: 1 });
    expect(final.received).toMatchObject([{ method: "POST", body: target.received[0]!.body }]);
  });

  it("when following, a relative Location resolves against the URL that redirected", async () => {
    const target = await receiver((res) => res.writeHead(308, { location: "/moved" }).end());
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback, maxRedirects: 1 });
    expect(attempt.requested).toEqual([target.url, `http://127.0.0.1:${target.port}/moved`]);
  });

  it("more redirects than maxRedirects fail as TOO_MANY_REDIRECTS", async () => {
    const loop = await receiver((res) => res.writeHead(302, { location: "/again" }).end());
    const attempt = await sendWebhook({ url: loop.url, signed: signed(), guard: loopback, maxRedirects: 2 });
    expect(attempt).toMatchObject({ outcome: "failed", statusCode: 302, error: { code: "TOO_MANY_REDIRECTS" } });
    expect(attempt.requested).toHaveLength(3);
  });

  it("a Location that is not a URL is refused as URL_INVALID", async () => {
    const target = await receiver((res) => res.writeHead(302, { location: "http://[" }).end());
    const attempt = await sendWebhook({ url: target.url, signed: signed(), guard: loopback, maxRedirects: 1 });
    expect(attempt).toMatchObject({ outcome: "refused", error: { code: "URL_INVALID" }, requested: [target.url] });
  });
});
