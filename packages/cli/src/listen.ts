import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import type { EventType, QuireClient } from "./client.ts";
import { eventLine } from "./format.ts";

/**
 * The ports `quire listen` tries, in order, when not given --port. `npm start` lets webhooks reach
 * loopback on these ports only (scripts/local-env.ts), so a subscription cannot aim the notifier
 * at devcloud (4566), the ingestion or notifier API (3000, 3001) or anything else on this machine.
 */
export const LISTEN_PORTS = { first: 4700, last: 4709 } as const;

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
  /** The port to listen on; 0: any free one. Without it, the first free port of `ports`, else any. */
  port?: number;
  /** Ports to try in order when `port` is not given (the CLI passes LISTEN_PORTS). */
  ports?: { readonly first: number; readonly last: number };
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
  const listenOn = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  if (options.port !== undefined || !options.ports) {
    await listenOn(options.port ?? 0);
  } else {
    for (let candidate = options.ports.first; ; candidate++) {
      try {
        await listenOn(candidate);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
        if (candidate >= options.ports.last) {
          throw new Error(
            `ports ${options.ports.first}-${options.ports.last} are all in use; pass --port (and, under npm start, add 127.0.0.1:<port> to QUIRE_WEBHOOK_ALLOWLIST)`,
          );
        }
      }
    }
  }
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
