import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { LOCAL_SERVICE_NODE_FLAGS } from "../src/index.ts";

/** What V8 reports after churning through short-lived objects, run with `flags`. */
function heapAfterChurn(flags: readonly string[]) {
  const script = `
    let kept = [];
    for (let i = 0; i < 2e6; i++) { kept.push({ i, text: "x" + i }); if (kept.length > 1e5) kept = []; }
    const v8 = require("node:v8");
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
    process.stdout.write(JSON.stringify({ youngBytes: young.space_size, limitBytes: v8.getHeapStatistics().heap_size_limit }));
  `;
  return JSON.parse(execFileSync(process.execPath, [...flags, "-e", script], { encoding: "utf8" })) as {
    youngBytes: number;
    limitBytes: number;
  };
}

describe("local service processes' V8 flags", () => {
  it("are accepted by this Node and keep the young generation to two 8 MiB semi-spaces, however much memory the machine has", () => {
    const MiB = 1024 * 1024;
    expect(heapAfterChurn(LOCAL_SERVICE_NODE_FLAGS).youngBytes).toBeLessThanOrEqual(16 * MiB);
  });

  it("leave the heap's limit where V8 puts it (no cap that would crash a process holding large documents)", () => {
    const unbounded = heapAfterChurn([]);
    const flagged = heapAfterChurn(LOCAL_SERVICE_NODE_FLAGS);
    // Only the young generation's share of the limit (3 semi-spaces) may differ.
    expect(unbounded.limitBytes - flagged.limitBytes).toBeLessThanOrEqual(3 * Math.max(0, unbounded.youngBytes / 2));
    expect(flagged.limitBytes).toBeGreaterThan(512 * 1024 * 1024);
  });
});
