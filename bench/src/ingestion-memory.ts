// npm run bench:memory — ingestion's memory under many large runs at once: the old limits
// (a 256 MiB run body, nothing bounding the sum) against today's (QUIRE_MAX_RUN_BODY_BYTES,
// QUIRE_MAX_INFLIGHT_BODY_BYTES), side by side. See bench/README.md.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LOCAL_SERVICE_NODE_FLAGS } from "@quire/config";
import { startDevcloud } from "@quire/devcloud";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const API_KEY = "bench-api-key-0123456789";
const MiB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "8" },
    "documents-per-run": { type: "string", default: "28" },
    "document-kib": { type: "string", default: "1024" },
  },
});
const runs = Number(args.runs);
const perRun = Number(args["documents-per-run"]);
const documentBytes = Number(args["document-kib"]) * 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Outcome {
  label: string;
  peakRssBytes: number;
  accepted: number;
  refused: Record<string, number>;
  busyRetries: number;
  seconds: number;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Peak resident set of a process so far (Linux: VmHWM). */
const peakRss = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;

/** One run's body: `perRun` distinct documents of `documentBytes` each. */
function runBody(run: number): string {
  const documents = Array.from({ length: perRun }, (_, i) => {
    const line = `Run ${run}, document ${i}: INVOICE ${run * 1000 + i}. Amount due 99.00. `;
    return { text: line.repeat(Math.ceil(documentBytes / line.length)).slice(0, documentBytes) };
  });
  return JSON.stringify({ documents });
}

async function measure(label: string, env: Record<string, string>): Promise<Outcome> {
  const devcloud = await startDevcloud({ port: 0, log: () => {} });
  const port = await freePort();
  const child = spawn(process.execPath, [...LOCAL_SERVICE_NODE_FLAGS, `${repo}services/ingestion/src/local.ts`], {
    cwd: repo,
    env: { ...process.env, ...devcloud.env, QUIRE_API_KEY: API_KEY, QUIRE_API_PORT: String(port), ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const api = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (
      await fetch(`${api}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error("ingestion did not come up within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const outcome: Outcome = { label, peakRssBytes: 0, accepted: 0, refused: {}, busyRetries: 0, seconds: 0 };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: runs }, async (_, run) => {
      const body = runBody(run);
      // A well-behaved client: on 429 it waits Retry-After and sends again.
      for (;;) {
        const response = await fetch(`${api}/v1/runs`, {
          method: "POST",
          headers: { "x-api-key": API_KEY, "content-type": "application/json" },
          body,
        }).catch((error: Error) => ({ status: 0, error }) as const);
        if ("error" in response) {
          log(
            `  a run's request failed: ${response.error.message} (${String((response.error.cause as Error | undefined)?.message ?? "")})`,
          );
          outcome.refused.CONNECTION = (outcome.refused.CONNECTION ?? 0) + 1;
          return;
        }
        if (response.status === 202) {
          await response.body?.cancel();
          outcome.accepted++;
          return;
        }
        const code = ((await response.json()) as { error?: { code?: string } }).error?.code ?? String(response.status);
        if (response.status === 429) {
          outcome.busyRetries++;
          await new Promise((r) => setTimeout(r, Number(response.headers.get("retry-after") ?? 1) * 1000));
          continue;
        }
        outcome.refused[code] = (outcome.refused[code] ?? 0) + 1;
        return;
      }
    }),
  );
  outcome.seconds = (performance.now() - started) / 1000;
  outcome.peakRssBytes = peakRss(child.pid!);
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  await devcloud.stop();
  return outcome;
}

const runBytes = Buffer.byteLength(runBody(0));
log(
  `Quire bench (memory): ${runs} concurrent runs of ${perRun} × ${documentBytes / 1024} KiB (${(runBytes / MiB).toFixed(1)} MiB each)`,
);
log("(a) old limits: 256 MiB run bodies, no bound on their sum");
const old = await measure("old limits", {
  QUIRE_MAX_RUN_BODY_BYTES: String(256 * MiB),
  QUIRE_MAX_INFLIGHT_BODY_BYTES: String(64 * 1024 * MiB),
});
log("(b) today's defaults");
const now = await measure("defaults (64 MiB runs, 96 MiB in flight)", {});

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const row = (o: Outcome) =>
  `| ${o.label} | ${mib(o.peakRssBytes)} | ${o.accepted}/${runs} | ${
    Object.entries(o.refused)
      .map(([c, n]) => `${c} ${n}`)
      .join(", ") || "none"
  } | ${o.busyRetries} | ${o.seconds.toFixed(1)} s |`;
const markdown = [
  `# Ingestion memory under concurrent large runs`,
  "",
  `${runs} clients each POST /v1/runs at once: ${perRun} documents of ${documentBytes / 1024} KiB (${(runBytes / MiB).toFixed(1)} MiB of JSON per run). A client retries 429 after Retry-After. Peak RSS of the ingestion process (VmHWM), on ${new Date().toISOString().slice(0, 10)}.`,
  "",
  "| limits | peak RSS | runs accepted | refused | 429 retries | time to accept all |",
  "| --- | --- | --- | --- | --- | --- |",
  row(old),
  row(now),
  "",
  `Ratio (defaults ÷ old): peak RSS ${(now.peakRssBytes / old.peakRssBytes).toFixed(2)}, time ${(now.seconds / old.seconds).toFixed(2)}.`,
  "",
].join("\n");
mkdirSync(`${repo}bench/results`, { recursive: true });
writeFileSync(`${repo}bench/results/memory-latest.md`, markdown);
process.stdout.write(markdown);
