import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** Why the Standard Webhooks verifier refused the request, once the receiver knows the secret. */
  unverified?: string;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** What the next request gets: a status code, or a function of the request's 1-based index. */
  respondWith(
    answer: number | ((index: number) => number | { status: number; headers?: Record<string, string> }),
  ): void;
  /**
   * Verify every request, those already received included, with the `standardwebhooks` package
   * under this secret (the subscription's, known once it is created). A request that fails is
   * answered 401 and makes `waitForRequests` and `assertVerified` throw.
   */
  verifyWith(secret: string): void;
  /** Throws naming the first request that did not verify. */
  assertVerified(): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
  /** Listen again at the same URL after `close` — an endpoint that was down comes back. */
  reopen(): Promise<void>;
}

/**
 * The webhook endpoint a user would run: a real HTTP server. It listens on 127.0.0.2 — loopback,
 * but not 127.0.0.1 — so the specs can allowlist exactly it and still prove 127.0.0.1 is refused.
 */
export async function startReceiver(host = "127.0.0.2"): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let answer: Parameters<Receiver["respondWith"]>[0] = 204;
  let verifier: Webhook | undefined;
  const verify = (request: ReceivedRequest) => {
    if (!verifier) return;
    try {
      verifier.verify(request.body, request.headers as Record<string, string>);
    } catch (error) {
      request.unverified = `${(error as Error).message} (webhook-id ${String(request.headers["webhook-id"])})`;
    }
  };
  const assertVerified = () => {
    const bad = requests.find((r) => r.unverified);
    if (bad) throw new Error(`the receiver got a request that does not verify: ${bad.unverified}`);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      requests.push(request);
      verify(request);
      // As a real receiver would: an unverifiable request is refused, whatever the spec scripted.
      if (request.unverified) return void res.writeHead(401).end("signature verification failed");
      const decided = typeof answer === "number" ? answer : answer(requests.length);
      const { status, headers = {} } = typeof decided === "number" ? { status: decided } : decided;
      res.writeHead(status, headers).end(status === 204 ? undefined : `answered ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}/hooks`;
  return {
    url,
    requests,
    respondWith(next) {
      answer = next;
    },
    verifyWith(secret) {
      verifier = new Webhook(secret);
      for (const request of requests) verify(request);
    },
    assertVerified,
    async waitForRequests(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        assertVerified();
        if (Date.now() > deadline)
          throw new Error(`receiver got ${requests.length} of ${count} requests within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
      assertVerified();
      return requests.slice(0, count);
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Nothing lingers: a connection a client kept alive must not reach a closed endpoint.
        server.closeAllConnections();
      }),
    reopen: () => new Promise<void>((resolve) => server.listen(port, host, resolve)),
  };
}
