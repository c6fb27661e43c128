import { readFileSync } from "node:fs";
import { serializeOpenApi } from "@quire/http-api";
import { documentedRoutes, lintOpenApi, servedRoutes } from "@quire/http-api/testing";
import { describe, expect, it } from "vitest";
import { createNotifierApi, type NotifierApiDependencies } from "../src/api.ts";
import { buildNotifierOpenApi, OPENAPI_PATH } from "../src/openapi.ts";

const app = () => createNotifierApi({ keys: {} } as NotifierApiDependencies);

describe("the notifier API's OpenAPI document", () => {
  it("committed openapi.json equals what the routes generate (run `npm run generate -w @quire/notifier`)", () => {
    expect(readFileSync(OPENAPI_PATH, "utf8")).toBe(serializeOpenApi(buildNotifierOpenApi()));
  });

  it("documents every route the app serves, and nothing else", () => {
    expect(documentedRoutes(buildNotifierOpenApi())).toEqual(servedRoutes(app()));
  });

  it("is served at /openapi.json, and as Swagger UI at /docs from this server, without a key", async () => {
    const served = await app().request("/openapi.json");
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(JSON.parse(readFileSync(OPENAPI_PATH, "utf8")));
    const docs = await app().request("/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect((await app().request("/docs/swagger-ui-bundle.js")).status).toBe(200);
  });

  it("lints clean with Redocly (recommended rules, redocly.yaml)", async () => {
    const result = await lintOpenApi("services/notifier/openapi.json");
    expect(result.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(result.totals.errors).toBe(0);
  }, 60_000);
});
