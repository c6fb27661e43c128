import { Agent, request } from "node:http";

/**
 * One request exactly as generated, over node:http rather than fetch: header lines as given
 * (twice, missing, or bytes past ASCII), no content type added, the body's bytes untouched.
 */
export interface RawAnswer {
  status: number;
  contentType: string | null;
  body: string;
  /** When no answer came: why. */
  error?: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

export function sendRaw(
  base: string,
  method: string,
  target: string,
  headers: readonly [string, string][],
  body: Uint8Array | undefined,
  timeoutMs = 15_000,
): Promise<RawAnswer> {
  const url = new URL(base);
  // Raw header lines get no Host from node:http: the request's own, else the server's.
  const lines: (readonly [string, string])[] = headers.some(([name]) => name === "host")
    ? [...headers]
    : [["host", url.host] as const, ...headers];
  if (body) lines.push(["content-length", String(body.length)]);
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: RawAnswer) => {
      if (settled) return;
      settled = true;
      resolve(answer);
    };
    let req: ReturnType<typeof request>;
    try {
      req = request({
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path: target,
        // Raw header lines: node:http sends each, in order, duplicates included.
        headers: lines.flat(),
        timeout: timeoutMs,
      });
    } catch (error) {
      // The client itself refused to send it (a character node:http will not put on the wire).
      done({ status: 0, contentType: null, body: "", error: `not sendable: ${(error as Error).message}` });
      return;
    }
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        done({
          status: res.statusCode ?? 0,
          contentType: res.headers["content-type"] ?? null,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", (error) =>
        done({ status: res.statusCode ?? 0, contentType: null, body: "", error: error.message }),
      );
    });
    req.on("timeout", () => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    req.on("error", (error) => done({ status: 0, contentType: null, body: "", error: error.message }));
    req.end(body);
  });
}

export function closeConnections(): void {
  agent.destroy();
}
