import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";

const keepAlive = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * Forward a request unchanged to an emulator on loopback. The Host header is kept, so
 * emulators that build URLs from it (fauxqs's QueueUrl) point callers back at the edge.
 * `responseHeaders`, if given, may correct the emulator's response headers (never the body).
 */
export function forward(
  port: number,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  responseHeaders?: (headers: IncomingHttpHeaders) => IncomingHttpHeaders,
): Promise<void> {
  return new Promise((resolve) => {
    const upstream = request(
      {
        host: "127.0.0.1",
        port,
        method: req.method,
        path: req.url,
        headers: http1Headers(req, body.length),
        agent: keepAlive,
      },
      (upstreamRes) => {
        res.writeHead(
          upstreamRes.statusCode ?? 502,
          responseHeaders ? responseHeaders(upstreamRes.headers) : upstreamRes.headers,
        );
        upstreamRes.pipe(res);
        upstreamRes.on("end", resolve);
        upstreamRes.on("error", () => resolve());
      },
    );
    upstream.on("error", (error) => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ __type: "ServiceUnavailable", message: `devcloud backend unreachable: ${error.message}` }),
        );
      } else {
        res.destroy(error);
      }
      resolve();
    });
    upstream.end(body);
  });
}

/** An emulator's whole answer, read into memory. */
export interface BufferedAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Send a request to an emulator on loopback and read its whole answer, for a route that decides
 * what to do with it (write it, or act on it when the caller has gone). Rejects on a network error.
 */
export function forwardBuffered(
  port: number,
  req: IncomingMessage,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<BufferedAnswer> {
  return requestBuffered(
    port,
    { method: req.method ?? "POST", path: req.url ?? "/", headers: { ...http1Headers(req, body.length), ...headers } },
    body,
  );
}

/** A request of the edge's own making to an emulator on loopback, its whole answer read. Rejects on a network error. */
export function requestBuffered(
  port: number,
  options: { method: string; path: string; headers: Record<string, string | string[] | undefined> },
  body: Buffer | string = "",
): Promise<BufferedAnswer> {
  return new Promise((resolve, reject) => {
    const upstream = request(
      {
        host: "127.0.0.1",
        port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        agent: keepAlive,
      },
      (upstreamRes) => {
        const chunks: Buffer[] = [];
        upstreamRes.on("data", (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on("end", () =>
          resolve({ status: upstreamRes.statusCode ?? 502, headers: upstreamRes.headers, body: Buffer.concat(chunks) }),
        );
        upstreamRes.on("error", reject);
      },
    );
    upstream.on("error", reject);
    upstream.end(body);
  });
}

/** HTTP/2 requests carry pseudo-headers (:authority, :path…) that an HTTP/1.1 hop must not see. */
function http1Headers(req: IncomingMessage, contentLength: number) {
  const headers: Record<string, string | string[] | undefined> = { "content-length": String(contentLength) };
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || name === "content-length") continue;
    headers[name] = value;
  }
  headers.host ??= req.headers[":authority"] as string | undefined;
  return headers;
}
