import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { buildProgram } from "../src/index.ts";

export const KEY = "test-key-0123456789";
export type Route = (req: IncomingMessage & { body: unknown }, res: ServerResponse) => void;
export interface Seen {
  method: string;
  path: string;
  body: unknown;
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/**
 * A stand-in for Quire's ingestion or notifier API on a real port: routes by "METHOD /path"
 * (query ignored), records every request, and answers 401 to a wrong or missing x-api-key the
 * way the real ones do.
 */
export async function fakeApi(routes: Record<string, Route>) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = raw ? JSON.parse(raw) : undefined;
      seen.push({ method: req.method!, path: req.url!, body });
      if (req.headers["x-api-key"] !== KEY) {
        return void res
          .writeHead(401, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { code: "UNAUTHORIZED", message: "Missing or unknown API key." } }));
      }
      const route = routes[`${req.method} ${req.url!.split("?")[0]}`];
      if (!route)
        return void res
          .writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { code: "NOT_FOUND", message: `no ${req.method} ${req.url}` } }));
      route(Object.assign(req, { body }), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({ close: () => server.close() });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A route answering `status` with `body` as JSON (none for 204). */
export const send = (status: number, body?: unknown) => (_req: unknown, res: ServerResponse) =>
  res
    .writeHead(status, body === undefined ? {} : { "content-type": "application/json" })
    .end(body === undefined ? undefined : JSON.stringify(body));

/** A route answering each call with the next of `bodies` (the last one repeats). */
export const sequence = (status: number, bodies: unknown[]) => {
  let i = 0;
  return (req: unknown, res: ServerResponse) => send(status, bodies[Math.min(i++, bodies.length - 1)])(req, res);
};

/** A port nothing listens on (one the OS just handed out and took back). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The program in-process, its output captured, talking to the given fake APIs. */
export function cli(
  api: string,
  notifier = api,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; untilInterrupted?: () => Promise<void> } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  let exitCode = 0;
  const program = buildProgram({
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: options.env ?? { QUIRE_API_URL: api, QUIRE_NOTIFIER_URL: notifier, QUIRE_API_KEY: KEY },
    cwd: options.cwd ?? tmp(),
    isTTY: false,
    setExitCode: (c) => (exitCode = c),
    ...(options.untilInterrupted ? { untilInterrupted: options.untilInterrupted } : {}),
  });
  return {
    run: (...args: string[]) => program.parseAsync(["node", "quire", ...args]),
    out,
    err,
    exitCode: () => exitCode,
  };
}

export const tmp = () => mkdtempSync(join(tmpdir(), "quire-cli-"));
