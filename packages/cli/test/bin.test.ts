import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fakeApi, KEY, send, tmp } from "./fake-api.ts";

const BIN = fileURLToPath(new URL("../bin/quire.js", import.meta.url));

/** Run the real bin with whatever node runs the tests (on Node 20 it re-runs itself on Node 24). */
function quire(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, cwd: tmp() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the quire bin", () => {
  it("runs a command and exits 0", async () => {
    const api = await fakeApi({
      "GET /v1/jobs/job_1": send(200, { jobId: "job_1", status: "processing", title: "Lease" }),
    });
    expect(await quire(["status", "job_1"], { QUIRE_API_URL: api.url, QUIRE_API_KEY: KEY })).toEqual({
      code: 0,
      stdout: 'job_1 processing "Lease"\n',
      stderr: "",
    });
  });

  it("exits 1 with a one-line error naming the API's code", async () => {
    const api = await fakeApi({
      "GET /v1/runs/run_1": send(404, { error: { code: "RUN_NOT_FOUND", message: "No run run_1." } }),
    });
    expect(await quire(["status", "run_1"], { QUIRE_API_URL: api.url, QUIRE_API_KEY: KEY })).toEqual({
      code: 1,
      stdout: "",
      stderr: "quire: RUN_NOT_FOUND: No run run_1.\n",
    });
  });

  it("exits 1 saying how to get an API key when there is none", async () => {
    const result = await quire(["subscriptions"], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "quire: No API key: pass --api-key, set QUIRE_API_KEY, or run npm start in the Quire repo (it keeps one in .quire/api-key).\n",
    );
  });

  it("exits non-zero on a usage error, after commander's own message", async () => {
    const result = await quire(["submit"], { QUIRE_API_KEY: KEY });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: missing required argument 'files'\n");
  });
});
