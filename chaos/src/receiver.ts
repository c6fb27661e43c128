import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the receiver does with the next request: answer a status, or hold it `delayMs` first. */
export type ReceiverMode = { status: number; delayMs?: number };

export interface ReceivedWebhook {
  webhookId: string;
  type: string;
  /** `data.jobId` / `data.runId` of the payload, when it has one. */
  jobId?: string | undefined;
  runId?: string | undefined;
  /** What it was answered (or was to be answered, for a held request the notifier gave up on). */
  status: number;
  delayMs: number;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  setMode(mode: ReceiverMode): void;
  /** Stop listening: connections are refused until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A webhook endpoint a subscriber would run (as tests/e2e/test/support/receiver.ts, without the
 * signature check): a real HTTP server on 127.0.0.1, whose answer a scenario scripts.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let mode: ReceiverMode = { status: 204 };
  let listening = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const { status, delayMs = 0 } = mode;
      let body: { type?: string; data?: { jobId?: string; runId?: string } } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        // not JSON: counted with no job
      }
      received.push({
        webhookId: String(req.headers["webhook-id"] ?? ""),
        type: body.type ?? "",
        jobId: body.data?.jobId,
        runId: body.data?.runId,
        status,
        delayMs,
        at: Date.now(),
      });
      const answer = () => {
        if (!res.destroyed) res.writeHead(status).end(status === 204 ? undefined : `answered ${status}`);
      };
      if (delayMs > 0) setTimeout(answer, delayMs).unref();
      else answer();
    });
    req.on("error", () => {});
    res.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  listening = true;
  const port = (server.address() as AddressInfo).port;
  const down = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    setMode(next) {
      mode = next;
    },
    down,
    up: () =>
      new Promise<void>((resolve) => {
        if (listening) return resolve();
        listening = true;
        server.listen(port, "127.0.0.1", resolve);
      }),
    close: down,
  };
}
