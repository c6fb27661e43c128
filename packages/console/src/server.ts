import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { buildSite, type ConsoleSite } from "./build-site.ts";

export interface ConsoleServerOptions {
  /** Where the browser reaches each API (CORS lets the console's origin call them). */
  ingestionApi: string;
  notifierApi: string;
  /** Locally: devcloud's endpoint, whose email outbox the console shows at /outbox. */
  devcloudEndpoint?: string;
  port?: number;
  host?: string;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<keyof ConsoleSite, string> = {
  "index.html": "text/html; charset=utf-8",
  "console.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
};

/**
 * The console locally: the static site (bundled in memory when the server starts), its
 * `config.json`, and devcloud's outbox. Deployed, the same files are an SST static site and
 * there is no outbox. The page may talk only to itself and the two APIs (Content-Security-Policy).
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const site = await buildSite();
  const config = JSON.stringify({
    ingestionApi: options.ingestionApi,
    notifierApi: options.notifierApi,
    ...(options.devcloudEndpoint ? { outbox: "outbox" } : {}),
  });
  const files = new Map<string, { body: Buffer; gzipped: Buffer; type: string }>();
  const add = (path: string, text: string, type: string) => {
    const body = Buffer.from(text);
    files.set(path, { body, gzipped: gzipSync(body, { level: 9 }), type });
  };
  for (const name of Object.keys(TYPES) as (keyof ConsoleSite)[]) add(`/${name}`, site[name], TYPES[name]);
  add("/config.json", config, "application/json");
  const csp = [
    "default-src 'self'",
    `connect-src 'self' ${new URL(options.ingestionApi).origin} ${new URL(options.notifierApi).origin}`,
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? "/", "http://console").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/outbox" && options.devcloudEndpoint) {
      const answer = await fetch(`${options.devcloudEndpoint}/_quire/outbox`);
      res.writeHead(answer.status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(await answer.text());
      return;
    }
    // Routes are in the hash, so every other path is the page itself.
    const file = files.get(path) ?? files.get("/index.html")!;
    const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    res.writeHead(files.has(path) || path === "/" ? 200 : 404, {
      "content-type": file.type,
      "cache-control": "no-cache",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      ...(gzip ? { "content-encoding": "gzip", vary: "accept-encoding" } : {}),
    });
    res.end(req.method === "HEAD" ? undefined : gzip ? file.gzipped : file.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`The console could not answer: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
