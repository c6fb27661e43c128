import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findLocalApiKey, resolveConnection } from "../src/index.ts";
import { cli, fakeApi, KEY, send, tmp } from "./fake-api.ts";

/** A directory tree whose root holds .quire/api-key, as npm start leaves the repo. */
function repoWithKey(key: string) {
  const root = tmp();
  mkdirSync(join(root, ".quire"));
  writeFileSync(join(root, ".quire", "api-key"), `${key}\n`);
  const deep = join(root, "packages", "x");
  mkdirSync(deep, { recursive: true });
  return { root, deep };
}

describe("connection settings", () => {
  it("finds the key npm start keeps in .quire/api-key in a parent directory", () => {
    const { deep } = repoWithKey("qk_local_abc");
    expect(findLocalApiKey(deep)).toBe("qk_local_abc");
    expect(resolveConnection({}, {}, deep)).toEqual({
      apiUrl: "http://127.0.0.1:3000",
      notifierUrl: "http://127.0.0.1:3001",
      apiKey: "qk_local_abc",
    });
  });

  it("prefers flags over env over the file", () => {
    const { deep } = repoWithKey("file");
    expect(resolveConnection({ apiKey: "flag" }, { QUIRE_API_KEY: "env" }, deep).apiKey).toBe("flag");
    expect(
      resolveConnection({}, { QUIRE_API_KEY: "env", QUIRE_API_URL: "http://x", QUIRE_NOTIFIER_URL: "http://y" }, deep),
    ).toEqual({ apiKey: "env", apiUrl: "http://x", notifierUrl: "http://y" });
    expect(resolveConnection({ apiUrl: "http://flag" }, { QUIRE_API_URL: "http://env" }, deep).apiUrl).toBe(
      "http://flag",
    );
  });

  it("says how to get a key when there is none", () => {
    expect(() => resolveConnection({}, {}, tmp())).toThrow(
      "No API key: pass --api-key, set QUIRE_API_KEY, or run npm start in the Quire repo",
    );
  });

  it("the CLI uses the key found above its working directory", async () => {
    const api = await fakeApi({ "GET /v1/jobs/job_1": send(200, { jobId: "job_1", status: "processing" }) });
    const { deep } = repoWithKey(KEY);
    const { run, out } = cli(api.url, api.url, { env: { QUIRE_API_URL: api.url }, cwd: deep });
    await run("status", "job_1");
    expect(out).toEqual(["job_1 processing"]);
  });

  it("the global --api-url and --api-key flags override the environment", async () => {
    const api = await fakeApi({ "GET /v1/jobs/job_1": send(200, { jobId: "job_1", status: "pending" }) });
    const { run, out } = cli(api.url, api.url, {
      env: { QUIRE_API_URL: "http://127.0.0.1:1", QUIRE_API_KEY: "wrong" },
    });
    await run("--api-url", api.url, "--api-key", KEY, "status", "job_1");
    expect(out).toEqual(["job_1 pending"]);
  });
});
