import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import type { EventType, QuireClient } from "./client.ts";
import { eventLine } from "./format.ts";

export interface Listener {
  url: string;
  subscriptionId: string;
  stop(): Promise<void>;
}

/**
 * `quire listen`: a local webhook receiver that subscribes itself, verifies every delivery's
 * Standard Webhooks signature with the secret it was given, prints the events, and unsubscribes
 * when stopped. The easiest way to watch Quire locally (npm start allows loopback targets).
 */
export async function startListener(options: {
  client: QuireClient;
  io: { out(line: string): void; err(line: string): void };
  port?: number;
  host?: string;
  events?: EventType[];
  json?: boolean;
  onEvent?: (event: { type: string; timestamp: string; data: Record<string, unknown> }) => void;
}): Promise<Listener> {
  const host = options.host ?? "127.0.0.1";
  let verifier: Webhook | undefined;
  const server = createServer((req, res) => {
    // Deliveries are POSTs; a browser poking at the URL gets told so rather than a signature error.
    if (req.method !== "POST")
      return void res.writeHead(405, { allow: "POST" }).end("quire listen receives webhook POSTs\n");
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      // Until the subscription (and its secret) exists nothing can be verified: ask to retry.
      if (!verifier) return void res.writeHead(503).end();
      let event: { type: string; timestamp: string; data: Record<string, unknown> };
      try {
        event = verifier.verify(body, req.headers as Record<string, string>) as typeof event;
      } catch (error) {
        options.io.err(`rejected a request with a bad signature (${(error as Error).message})`);
        return void res.writeHead(401).end();
      }
      res.writeHead(204).end();
      options.io.out(
        options.json ? JSON.stringify({ webhookId: req.headers["webhook-id"], ...event }) : eventLine(event as never),
      );
      options.onEvent?.(event);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  // Listening on every interface: the notifier (local) still reaches it on loopback.
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}/`;
  let subscriptionId: string;
  try {
    const subscription = await options.client.createSubscription({
      kind: "webhook",
      url,
      ...(options.events ? { events: options.events } : {}),
      description: "quire listen",
    });
    subscriptionId = subscription.id;
    if (subscription.kind !== "webhook" || !subscription.secret) {
      await options.client.deleteSubscription(subscriptionId).catch(() => {});
      throw new Error(
        `the notifier returned no signing secret for ${subscriptionId}, so deliveries could not be verified`,
      );
    }
    // The secret as created: after a rotation Quire signs with the old and the new secret until the
    // old one expires, and verify() accepts a request if any of its signatures matches.
    verifier = new Webhook(subscription.secret);
  } catch (error) {
    server.close();
    throw error;
  }
  let stopped = false;
  return {
    url,
    subscriptionId,
    async stop() {
      if (stopped) return;
      stopped = true;
      await options.client
        .deleteSubscription(subscriptionId)
        .catch((error: Error) => options.io.err(`could not delete ${subscriptionId}: ${error.message}`));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
