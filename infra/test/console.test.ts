/**
 * The console on AWS, read back from the real sst.config.ts run against the recording stand-ins:
 * one Router fronts the static site and both HTTP APIs, split by path prefix, so the page and the
 * APIs share an origin. The prefixes are checked against the APIs' own OpenAPI documents.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { NOTIFIER_PREFIXES } from "../src/console.ts";
import { runSstConfig, type Recorded } from "./recording-sst.ts";

const DEPLOY_ENV = { QUIRE_EMAIL_SENDER: "notifications@example.com" };
const pathsOf = (api: string) =>
  Object.keys(
    (
      JSON.parse(readFileSync(new URL(`../../services/${api}/openapi.json`, import.meta.url), "utf8")) as {
        paths: Record<string, unknown>;
      }
    ).paths,
  ).filter((path) => path.startsWith("/v1/"));
const matches = (prefix: string, path: string) => path === prefix || path.startsWith(`${prefix}/`);

let recorded: Recorded[];
let outputs: Record<string, unknown>;
beforeAll(async () => {
  const run = await runSstConfig("../../sst.config.ts", "staging", DEPLOY_ENV);
  recorded = run.recorded;
  outputs = run.outputs as Record<string, unknown>;
});

describe("the console on AWS", () => {
  it("is a static site built from packages/console, served by a Router, whose URL the deploy prints", () => {
    const [site] = recorded.filter((r) => r.kind === "StaticSite");
    expect(site!.args[0]).toMatchObject({
      path: "packages/console",
      build: { command: "npm run build", output: "dist" },
    });
    expect(recorded.filter((r) => r.kind === "Router").map((r) => r.name)).toEqual(["ConsoleRouter"]);
    expect(outputs.console).toBe("recorded:Router:ConsoleRouter:url");
  });

  it("routes the notifier's prefixes to the notifier's API and the rest of /v1 to ingestion's", () => {
    const routes = Object.fromEntries(
      recorded.filter((r) => r.kind === "Router.route").map((r) => [r.name, r.args[1]]),
    );
    expect(routes).toEqual({
      "/v1/subscriptions": "recorded:ApiGatewayV2:NotifierApi:url",
      "/v1/deliveries": "recorded:ApiGatewayV2:NotifierApi:url",
      "/v1": "recorded:ApiGatewayV2:IngestionApi:url",
    });
  });

  it("the prefixes split the APIs exactly: every notifier path under one, no ingestion path under any", () => {
    for (const path of pathsOf("notifier"))
      expect(
        NOTIFIER_PREFIXES.some((prefix) => matches(prefix, path)),
        path,
      ).toBe(true);
    for (const path of pathsOf("ingestion"))
      expect(
        NOTIFIER_PREFIXES.some((prefix) => matches(prefix, path)),
        path,
      ).toBe(false);
  });
});
