import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError, createApiApp, limitBody, parseJsonBody } from "../src/index.ts";

const KEY = "a-key-long-enough-0123";
function app() {
  const api = createApiApp({ service: "test", apiKey: KEY });
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

  it("refuses a body over a limit with 413 PAYLOAD_TOO_LARGE and closes the connection it did not drain", async () => {
    const response = await send("/v1/small", { method: "POST", body: JSON.stringify({ name: "x".repeat(100) }) });
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(response.headers.get("connection")).toBe("close");
    expect((await send("/v1/small", { method: "POST", body: JSON.stringify({ name: "x" }) })).status).toBe(201);
  });
});
