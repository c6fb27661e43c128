import { timingSafeEqual } from "node:crypto";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { ApiError, validationFailed } from "./errors.ts";

function sameKey(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A Hono app with the conventions every Quire API shares, so ingestion and the notifier answer
 * alike: `GET /health`, `x-api-key` on everything under `/v1/`, `{ error: { code, message } }`
 * for every failure (404 included), and unhandled errors logged once and answered as 500 INTERNAL.
 */
export function createApiApp(options: { service: string; apiKey: string }) {
  const app = new Hono();
  app.onError((error, c) => {
    if (error instanceof ApiError) {
      return c.json({ error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } }, error.status);
    }
    console.error(JSON.stringify({ level: "error", service: options.service, message: "unhandled", error: String((error as Error).stack ?? error) }));
    return c.json({ error: { code: "INTERNAL", message: "Something went wrong on our side." } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: "NOT_FOUND", message: `No route for ${c.req.method} ${c.req.path}.` } }, 404));
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.use("/v1/*", async (c, next) => {
    if (!sameKey(c.req.header("x-api-key"), options.apiKey)) {
      throw new ApiError(401, "UNAUTHORIZED", "Send a valid API key in the x-api-key header.");
    }
    await next();
  });
  return app;
}

/** The request body as JSON: 415 when it is not declared JSON, 400 MALFORMED_JSON when it does not parse. */
export async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!type.includes("application/json")) throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.");
  try {
    return await c.req.json();
  } catch {
    throw new ApiError(400, "MALFORMED_JSON", "The request body is not valid JSON.");
  }
}

/** Parse, don't validate: the body through `schema`, or 400 VALIDATION_FAILED naming each bad field. */
export async function parseJsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const parsed = schema.safeParse(await jsonBody(c));
  if (!parsed.success) throw validationFailed(parsed.error);
  return parsed.data;
}

/**
 * A body limit answering 413 PAYLOAD_TOO_LARGE in the shared error shape. The rest of the body is
 * never read, so the answer also says `connection: close`: otherwise a client would reuse a
 * connection that the Node server closes once it gives up draining it, and its next request
 * there would fail ("other side closed").
 */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      c.header("connection", "close");
      throw new ApiError(413, "PAYLOAD_TOO_LARGE", `The request body is over ${maxBytes} bytes.`);
    },
  });
}
