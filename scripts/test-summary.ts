// After `turbo run test`: one closing line for the whole monorepo, summed from each workspace's
// vitest JSON report (written by its `test` script, restored by turbo on a cache hit).
import { existsSync, globSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const { workspaces } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] };
let passed = 0;
let failed = 0;
let skipped = 0;
const missing: string[] = [];
for (const dir of workspaces.flatMap((pattern) => globSync(pattern, { cwd: root }))) {
  const report = join(root, dir, ".vitest", "results.json");
  if (!existsSync(join(root, dir, "package.json"))) continue;
  if (!existsSync(report)) {
    missing.push(dir);
    continue;
  }
  const results = JSON.parse(readFileSync(report, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  passed += results.numPassedTests;
  failed += results.numFailedTests;
  skipped += results.numPendingTests + results.numTodoTests;
}
if (missing.length > 0) console.error(`no vitest report in: ${missing.join(", ")}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || missing.length > 0 || passed === 0 ? 1 : 0);
