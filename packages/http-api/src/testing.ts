/** Checks both APIs' test suites run on their OpenAPI documents (not used by the apps themselves). */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { OpenAPIHono } from "@hono/zod-openapi";

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
