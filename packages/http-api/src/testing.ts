/** Checks both APIs' test suites run on their OpenAPI documents (not used by the apps themselves). */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { serializeOpenApi } from "./openapi.ts";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** `GET /v1/jobs/{jobId}` for each operation in the document, sorted. */
export function documentedRoutes(document: { paths?: object }): string[] {
  return Object.entries(document.paths ?? {})
    .flatMap(([path, item]) =>
      Object.keys((item as object | undefined) ?? {})
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

/** The same for each route the Hono app answers (middleware left out), `:param` written `{param}`. */
export function servedRoutes(app: OpenAPIHono): string[] {
  return [
    ...new Set(
      app.routes
        .filter((route) => route.method !== "ALL")
        .map((route) => `${route.method} ${route.path.replaceAll(/:(\w+)/g, "{$1}")}`),
    ),
  ].sort();
}

export interface LintResult {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

/** `redocly lint <file>` from the repository root (its redocly.yaml and ignore file), as JSON. */
export async function lintOpenApi(file: string): Promise<LintResult> {
  const bin = `${repo}node_modules/@redocly/cli/bin/cli.js`;
  const run = promisify(execFile);
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, [bin, "lint", file, "--format=json"], {
      cwd: repo,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (error) {
    // redocly exits 1 when there are errors; the report is still on stdout.
    stdout = (error as { stdout?: string }).stdout ?? "";
    if (!stdout) throw error;
  }
  return JSON.parse(stdout) as LintResult;
}

/**
 * The specs every API's committed OpenAPI document answers to, for a service's test file: it
 * equals what the routes generate, documents exactly the served routes, is served at
 * /openapi.json and as self-contained Swagger UI at /docs without a key, and lints clean.
 */
export function specifyOpenApiDocument(api: {
  /** As the workspace is named: `npm run generate -w @quire/<service>` rewrites the file. */
  service: string;
  /** The committed file. */
  path: URL;
  build: () => unknown;
  app: () => OpenAPIHono;
}) {
  const committed = () => readFileSync(api.path, "utf8");

  describe(`the ${api.service} API's OpenAPI document`, () => {
    it(`committed openapi.json equals what the routes generate (run \`npm run generate -w @quire/${api.service}\`)`, () => {
      expect(committed()).toBe(serializeOpenApi(api.build()));
    });

    it("documents every route the app serves, and nothing else", () => {
      expect(documentedRoutes(api.build() as { paths?: object })).toEqual(servedRoutes(api.app()));
    });

    it("is served at /openapi.json, and as Swagger UI at /docs from this server, without a key", async () => {
      const served = await api.app().request("/openapi.json");
      expect(served.status).toBe(200);
      expect(await served.json()).toEqual(JSON.parse(committed()));

      const docs = await api.app().request("/docs");
      expect(docs.status).toBe(200);
      const html = await docs.text();
      expect(html).toContain('src="docs/swagger-ui-bundle.js"');
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
      const bundle = await api.app().request("/docs/swagger-ui-bundle.js");
      expect(bundle.status).toBe(200);
      expect(bundle.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect((await api.app().request("/docs/swagger-ui.css")).status).toBe(200);
      expect((await api.app().request("/docs/other.js")).status).toBe(404);
    });

    it("lints clean with Redocly (recommended rules, redocly.yaml)", async () => {
      const result = await lintOpenApi(fileURLToPath(api.path).slice(repo.length));
      expect(result.problems.filter((p) => p.severity === "error")).toEqual([]);
      expect(result.totals.errors).toBe(0);
    }, 60_000);
  });
}
