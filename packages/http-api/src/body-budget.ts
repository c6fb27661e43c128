import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";

/**
 * The request bodies one process holds at once, counted in bytes. Each large route's body
 * limit bounds one request; this bounds their sum, which is what decides the process's memory
 * when many arrive together (a body is held whole while it is parsed and stored).
 */
export class BodyBudget {
  private held = 0;
  readonly totalBytes: number;
  constructor(totalBytes: number) {
    this.totalBytes = totalBytes;
  }

  /** A release function, or undefined when `bytes` more would pass the budget. */
  tryReserve(bytes: number): (() => void) | undefined {
    // One request alone is always let through up to its route's limit, even past the budget.
    if (this.held > 0 && this.held + bytes > this.totalBytes) return undefined;
    this.held += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= bytes;
    };
  }

  get heldBytes() {
    return this.held;
  }
}

const DRAIN_MS = 10_000;

/** Reads and drops a body: true when it ended within `maxBytes` and `ms`. */
async function drain(body: ReadableStream<Uint8Array> | null, maxBytes: number, ms: number): Promise<boolean> {
  if (!body) return true;
  const reader = body.getReader();
  const deadline = Date.now() + ms;
  let read = 0;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        reader.read(),
        new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), left))),
      ]);
      clearTimeout(timer);
      if (next === "late") return false;
      if (next.done) return true;
      read += next.value.byteLength;
      if (read > maxBytes) return false;
    }
  } catch {
    return false;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Reserves a request's body in the budget for as long as the request is served: its declared
 * Content-Length, or the route's whole limit when it sends none (chunked). Past the budget:
 * 429 BUSY with Retry-After. The refused body is read and dropped chunk by chunk (it costs
 * no memory), up to the route's limit and for at most 10 s: a client still sending when the
 * answer comes and the connection closes would see a reset rather than the 429 telling it when
 * to retry. Past either bound the connection is closed instead.
 */
export function reserveBody(budget: BodyBudget, maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    const declared = Number(c.req.header("content-length"));
    const bytes = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBytes) : maxBytes;
    const release = budget.tryReserve(bytes);
    if (!release) {
      c.header("retry-after", "1");
      if (!(await drain(c.req.raw.body, maxBytes, DRAIN_MS))) c.header("connection", "close");
      throw new ApiError(
        429,
        "BUSY",
        "This server is holding as many large requests as it takes at once: retry after 1 s.",
      );
    }
    try {
      await next();
    } finally {
      release();
    }
  };
}
