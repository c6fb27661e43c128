import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The CI-sized subset of `npm run chaos`: the real services as processes on devcloud, each
 * SIGKILLed mid-run and restarted, then every message delivered 2–3 times (about 80 s on 2 cores).
 * The whole program, every scenario: `npm run chaos` (or `-- --quick`).
 */
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));

describe("npm run chaos, CI subset", () => {
  it("--quick --scenario kill,duplicates: every ledger balances", () => {
    const out = mkdtempSync(join(tmpdir(), "quire-chaos-ci-"));
    try {
      const run = spawnSync(process.execPath, [main, "--quick", "--scenario", "kill,duplicates", "--out", out], {
        encoding: "utf8",
        timeout: 280_000,
      });
      const lines = run.stdout.trim().split("\n");
      expect(lines.at(-1), run.stderr).toBe("chaos: 2/2 scenarios, lost=0 duplicated=0 stuck=0 transient_failures=0");
      expect(run.status).toBe(0);
      const report = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as {
        scenarios: { name: string; ledger: { ok: boolean } }[];
      };
      expect(report.scenarios.map((s) => [s.name, s.ledger.ok])).toEqual([
        ["kill", true],
        ["duplicates", true],
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
