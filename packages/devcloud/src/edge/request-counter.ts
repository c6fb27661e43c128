import type { IncomingMessage } from "node:http";
import type { EdgeHandler } from "./server.ts";

/**
 * Every AWS request the edge served, by service and operation (`dynamodb:PutItem`,
 * `sqs:ReceiveMessage`, `s3:PUT`): what a run would send AWS, so the bench can print requests
 * and DynamoDB writes per document (fewer is cheaper there too). Counted as they arrive, refused
 * or not — AWS bills most requests either way.
 */
export interface RequestCounter {
  counts(): Record<string, number>;
  reset(): void;
  wrap(services: Record<string, EdgeHandler>): Record<string, EdgeHandler>;
}

/** The operation a request names: its X-Amz-Target (JSON protocols), its Action (query), else S3's method or the path's last segment. */
export function operationOf(service: string, req: IncomingMessage, body: Buffer): string {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string") return target.slice(target.lastIndexOf(".") + 1);
  const type = String(req.headers["content-type"] ?? "");
  if (type.startsWith("application/x-www-form-urlencoded")) {
    const action = new URLSearchParams(body.toString("utf8")).get("Action");
    if (action) return action;
  }
  if (service === "s3") return req.method ?? "GET";
  const path = new URL(req.url ?? "/", "http://edge").pathname.split("/").filter(Boolean);
  return path.at(-1) ?? req.method ?? "request";
}

export function createRequestCounter(): RequestCounter {
  const counts = new Map<string, number>();
  return {
    counts: () => Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b))),
    reset: () => counts.clear(),
    wrap(services) {
      return Object.fromEntries(
        Object.entries(services).map(([service, handler]) => [
          service,
          (req, body, res) => {
            const key = `${service}:${operationOf(service, req, body)}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
            return handler(req, body, res);
          },
        ]),
      );
    },
  };
}
