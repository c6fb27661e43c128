import { readFileSync } from "node:fs";
import type { ApiKeys } from "@quire/api-keys";
import type { DeadLetters } from "@quire/dead-letters";
import type { JobStore } from "@quire/jobs";
import { serializeOpenApi } from "@quire/http-api";
import { describe, expect, it } from "vitest";
import { createApp, DEFAULT_MAX_DOCUMENT_BYTES } from "../src/app.ts";
import { buildIngestionOpenApi, OPENAPI_PATH } from "../src/openapi.ts";
import type { Submission } from "../src/submission.ts";
import { documentedRoutes, lintOpenApi, servedRoutes } from "@quire/http-api/testing";

const app = () =>
  createApp({
    jobs: {} as JobStore,
    submission: {} as Submission,
    deadLetters: {} as DeadLetters,
    keys: {} as ApiKeys,
    maxDocumentBytes: DEFAULT_MAX_DOCUMENT_BYTES,
  });

describe("the ingestion API's OpenAPI document", () => {
  it("committed openapi.json equals what the routes generate (run `npm run generate -w @quire/ingestion`)", () => {
    expect(readFileSync(OPENAPI_PATH, "utf8")).toBe(serializeOpenApi(buildIngestionOpenApi()));
  });

  it("documents every route the app serves, and nothing else", () => {
    expect(documentedRoutes(buildIngestionOpenApi())).toEqual(servedRoutes(app()));
  });

  it("is served at /openapi.json, and as Swagger UI at /docs from this server, without a key", async () => {
    const served = await app().request("/openapi.json");
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(JSON.parse(readFileSync(OPENAPI_PATH, "utf8")));

    const docs = await app().request("/docs");
    expect(docs.status).toBe(200);
    const html = await docs.text();
    expect(html).toContain('src="docs/swagger-ui-bundle.js"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const bundle = await app().request("/docs/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect((await app().request("/docs/swagger-ui.css")).status).toBe(200);
    expect((await app().request("/docs/other.js")).status).toBe(404);
  });

  it("lints clean with Redocly (recommended rules, redocly.yaml)", async () => {
    const result = await lintOpenApi("services/ingestion/openapi.json");
    expect(result.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(result.totals.errors).toBe(0);
  }, 60_000);
});
