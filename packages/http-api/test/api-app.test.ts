import { describe, expect, it } from "vitest";
import { z } from "zod";
import { z as zo } from "@hono/zod-openapi";
import {
  ApiError,
  callerOf,
  createApiApp,
  defineRoute,
  json,
  keyScope,
  limitBody,
  openApiDocument,
  parseJsonBody,
  RateLimiter,
  type Caller,
} from "../src/index.ts";

const KEY = "a-key-long-enough-0123";
const READER = "a-reader-key-0123456789";
const callers: Record<string, Caller> = {
  [KEY]: {
    keyId: "admin",
    scopes: new Set(["things:write", "things:read"]),
    limits: { requestsPerSecond: 1000, burst: 1000 },
  },
  [READER]: { keyId: "reader", scopes: new Set(["things:read"]), limits: { requestsPerSecond: 1, burst: 2 } },
};
let clock = 0;
function app() {
  const api = createApiApp({
    service: "test",
    authenticate: async (presented) => callers[presented],
    rateLimiter: new RateLimiter(() => clock),
  });
  defineRoute(
    api,
    {
      method: "get",
      path: "/v1/scoped",
      security: keyScope("things:write"),
      responses: { 200: json(zo.object({ keyId: zo.string() }), { description: "ok" }) },
    },
    (c) => c.json({ keyId: callerOf(c).keyId }),
  );
  api.post("/v1/things", async (c) => c.json(await parseJsonBody(c, z.strictObject({ name: z.string().min(1) })), 201));
  api.post("/v1/small", limitBody(64), async (c) =>
    c.json(await parseJsonBody(c, z.strictObject({ name: z.string() })), 201),
  );
  api.get("/v1/conflict", () => {
    throw new ApiError(409, "ALREADY_THERE", "It exists.");
  });
  api.get("/v1/crash", () => {
    throw new Error("boom");
  });
  return api;
}
const send = (path: string, init: RequestInit = {}) =>
  app().request(path, { ...init, headers: { "x-api-key": KEY, "content-type": "application/json", ...init.headers } });
const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { code: string; message: string } }).error;

describe("the shared API conventions", () => {
  it("answers /health without a key", async () => {
    const response = await app().request("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("refuses /v1 requests without the right key as 401 UNAUTHORIZED", async () => {
    const response = await app().request("/v1/things", { method: "POST", headers: { "x-api-key": "wrong" } });
    expect(response.status).toBe(401);
    expect((await errorOf(response)).code).toBe("UNAUTHORIZED");
  });

  it("answers unknown routes with the error shape, not Hono's text", async () => {
    const response = await send("/v1/nothing-here");
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({ code: "NOT_FOUND", message: "No route for GET /v1/nothing-here." });
  });

  it("turns an ApiError into its status and code", async () => {
    const response = await send("/v1/conflict");
    expect(response.status).toBe(409);
    expect(await errorOf(response)).toEqual({ code: "ALREADY_THERE", message: "It exists." });
  });

  it("hides an unexpected error behind 500 INTERNAL", async () => {
    const original = console.error;
    console.error = () => {};
    try {
      const response = await send("/v1/crash");
      expect(response.status).toBe(500);
      expect((await errorOf(response)).code).toBe("INTERNAL");
    } finally {
      console.error = original;
    }
  });

  it("parses a valid body through the schema", async () => {
    const response = await send("/v1/things", { method: "POST", body: JSON.stringify({ name: "x" }) });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ name: "x" });
  });

  it("names every invalid field as VALIDATION_FAILED", async () => {
    const response = await send("/v1/things", { method: "POST", body: JSON.stringify({ name: "", extra: 1 }) });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toContain("name");
  });

  it("answers a body that is not JSON as 400 MALFORMED_JSON", async () => {
    const response = await send("/v1/things", { method: "POST", body: "{nope" });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("MALFORMED_JSON");
  });

  it("answers a body not declared as JSON as 415", async () => {
    const response = await send("/v1/things", {
      method: "POST",
      body: "name=x",
      headers: { "content-type": "text/plain" },
    });
    expect(response.status).toBe(415);
    expect((await errorOf(response)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers a body declared as another type that merely mentions JSON as 415", async () => {
    for (const type of ["text/html; x=application/json", "application/jsonp", "application/json-seq", "text/json"]) {
      const response = await send("/v1/things", {
        method: "POST",
        body: JSON.stringify({ name: "x" }),
        headers: { "content-type": type },
      });
      expect(response.status, type).toBe(415);
    }
  });

  it("takes application/json whatever its case, with a UTF-8 charset", async () => {
    for (const type of ["Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8"]) {
      const response = await send("/v1/things", {
        method: "POST",
        body: JSON.stringify({ name: "x" }),
        headers: { "content-type": type },
      });
      expect(response.status, type).toBe(201);
    }
  });

  it("refuses a body over a limit with 413 PAYLOAD_TOO_LARGE and closes the connection it did not drain", async () => {
    const response = await send("/v1/small", { method: "POST", body: JSON.stringify({ name: "x".repeat(100) }) });
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(response.headers.get("connection")).toBe("close");
    expect((await send("/v1/small", { method: "POST", body: JSON.stringify({ name: "x" }) })).status).toBe(201);
  });
});

describe("keys: scopes and rates", () => {
  const as = (key: string, path = "/v1/scoped") => app().request(path, { headers: { "x-api-key": key } });

  it("a route that names a scope serves a key holding it, and tells the handler who called", async () => {
    const response = await as(KEY);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ keyId: "admin" });
  });

  it("refuses a valid key without the route's scope as 403 MISSING_SCOPE, naming the scope", async () => {
    const response = await as(READER);
    expect(response.status).toBe(403);
    expect(await errorOf(response)).toMatchObject({
      code: "MISSING_SCOPE",
      message: expect.stringContaining("things:write"),
    });
  });

  it("the document lists the scope in the operation's security, and the 403 and 429 it can answer", () => {
    const operation = (openApiDocument(app()).paths as any)["/v1/scoped"].get;
    expect(operation.security).toEqual([{ ApiKey: ["things:write"] }]);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["403", "429"]));
  });

  it("every /v1 answer carries the key's RateLimit headers", async () => {
    const response = await as(KEY, "/v1/conflict");
    expect(response.headers.get("ratelimit-limit")).toBe("1000");
    expect(Number(response.headers.get("ratelimit-remaining"))).toBeGreaterThan(0);
  });

  it("past its burst a key gets 429 RATE_LIMITED with Retry-After, and is served again once its bucket refills", async () => {
    const api = app();
    const get = () => api.request("/v1/conflict", { headers: { "x-api-key": READER } });
    clock = 1_000_000;
    expect((await get()).status).toBe(409);
    expect((await get()).status).toBe(409);
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect((await errorOf(refused)).code).toBe("RATE_LIMITED");
    // Another key is not slowed by this one.
    expect((await api.request("/v1/conflict", { headers: { "x-api-key": KEY } })).status).toBe(409);
    clock += 1000;
    expect((await get()).status).toBe(409);
  });
});

describe("browsers: CORS for the console's origin", () => {
  const CONSOLE = "http://127.0.0.1:3002";
  const withConsole = () => {
    const api = createApiApp({
      service: "test",
      authenticate: async (presented) => callers[presented],
      corsOrigins: [CONSOLE],
    });
    api.get("/v1/things", (c) => c.json({ things: [] }));
    return api;
  };
  const preflight = (api: ReturnType<typeof withConsole>, origin: string) =>
    api.request("/v1/things", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "x-api-key" },
    });

  it("answers the console's preflight without a key, allowing x-api-key", async () => {
    const res = await preflight(withConsole(), CONSOLE);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(CONSOLE);
    expect(res.headers.get("access-control-allow-headers")).toContain("x-api-key");
  });

  it("lets the console read an answer, which still needs the key", async () => {
    const api = withConsole();
    const res = await api.request("/v1/things", { headers: { origin: CONSOLE, "x-api-key": KEY } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(CONSOLE);
    expect(res.headers.get("access-control-expose-headers")).toContain("ratelimit-remaining");
    const refused = await api.request("/v1/things", { headers: { origin: CONSOLE } });
    expect(refused.status).toBe(401);
  });

  it("allows no other origin", async () => {
    const res = await preflight(withConsole(), "https://evil.example");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sends no CORS header at all when no origin is configured", async () => {
    const res = await app().request("/health", { headers: { origin: CONSOLE } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const guarded = await app().request("/v1/scoped", { headers: { origin: CONSOLE, "x-api-key": KEY } });
    expect(guarded.headers.get("access-control-allow-origin")).toBeNull();
  });
});
