// npm run bench [-- --quick] — see bench/README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { planThroughput } from "@quire/bedrock";
import { generateDocuments } from "./documents.ts";
import { BENCH_OPTIONS } from "./options.ts";
import {
  efficiencyOf,
  renderAdaptationChart,
  renderChart,
  renderMarkdown,
  type AdaptationResult,
  type BenchReport,
} from "./report.ts";
import { runPipelineScenario } from "./scenario.ts";
import { measureSequential } from "./sequential.ts";

const { values: args } = parseArgs({ options: BENCH_OPTIONS });
const quick = args.quick;
const settings = {
  documents: Number(args.docs ?? (quick ? 300 : 10_000)),
  requestsPerMinute: Number(args.rpm ?? 400),
  tokensPerMinute: Number(args.tpm ?? 1_500_000),
  latencyMeanMs: 8000,
  latencyJitterMs: 2000,
  latency: "8 s mean, normal, 2 s standard deviation",
  // Bedrock's latency and quota minute are scaled; the pipeline's own overhead is not. 0.25 keeps the
  // needed rate (3.3 documents/s ÷ 0.25 = 13/s) well inside what devcloud on 2 cores sustains (~30/s).
  timeScale: Number(args["time-scale"] ?? 0.25),
  workersPerStage: Number(args.workers ?? 2),
  /** Per worker process, like an SQS event source's batch/max-concurrency setting: 4 processes × 25 = 100 in flight. */
  baselineConcurrency: Number(args["baseline-concurrency"] ?? 25),
  sequentialSample: quick ? 3 : 10,
  overheadDocuments: quick ? 300 : 10_000,
};
const log = (line: string) => process.stderr.write(`${line}\n`);
const behaviour = {
  latency: {
    distribution: "normal",
    meanMs: settings.latencyMeanMs,
    jitterMs: settings.latencyJitterMs,
    perOutputTokenMs: 0,
    minMs: 2000,
  },
  quota: { requestsPerMinute: settings.requestsPerMinute, tokensPerMinute: settings.tokensPerMinute },
};
// The services see time-scaled Bedrock: a quota minute lasts 60 s × timeScale of their clock.
const perRealMinute = (perMinute: number) => String(Math.round(perMinute / settings.timeScale));
const documents = generateDocuments(settings.documents, 7, "bench");
const timeoutSeconds = quick ? 150 : 3600;

log(
  `Quire bench: ${settings.documents} documents, ${settings.requestsPerMinute} RPM, time scale ${settings.timeScale}${quick ? " (quick)" : ""}`,
);
log("(a) Quire governor");
/** The governor's settings for a configured quota (which the adaptation scenarios get wrong on purpose). */
const governorEnv = (configuredRequestsPerMinute: number) => ({
  QUIRE_GOVERNOR: "adaptive",
  QUIRE_BEDROCK_RPM: perRealMinute(configuredRequestsPerMinute),
  QUIRE_BEDROCK_TPM: perRealMinute(settings.tokensPerMinute),
  // The mean latency the services see (scaled), as a deploy would configure the real one.
  QUIRE_BEDROCK_LATENCY_MS: String(Math.round(settings.latencyMeanMs * settings.timeScale)),
  // The quota's window as devcloud counts it: a minute of its (scaled) time.
  QUIRE_BEDROCK_QUOTA_WINDOW_MS: String(Math.round(60_000 * settings.timeScale)),
  // The quota's membership refreshes every 3 s of the services' (scaled) time, as in production.
  QUIRE_QUOTA_SHARE_REFRESH_MS: String(Math.max(100, Math.round(3000 * settings.timeScale))),
  // The pacer's burst stays 1 s of real time (not scaled): the pipeline's own latency between
  // receiving a message and its call taking the token is not scaled either, and a smaller burst
  // loses the tokens that accrue meanwhile (measured: efficiency 0.79–0.83 with 250 ms, 0.91 with 1 s).
  QUIRE_WORKER_CONCURRENCY: "256",
  ...(args["quota-share"] ? { QUIRE_QUOTA_SHARE: args["quota-share"] } : {}),
});
const governor = await runPipelineScenario({
  name: "(a)",
  description:
    args["quota-share"] !== "off"
      ? `the quota shared: each process paces at its fair share within the quota's window, backpressure to SQS, ${settings.workersPerStage} processes per stage`
      : `adaptive governor (AIMD + quota buckets), backpressure to SQS, ${settings.workersPerStage} processes per stage`,
  documents,
  timeScale: settings.timeScale,
  behaviour,
  serviceEnv: governorEnv(settings.requestsPerMinute),
  workersPerStage: settings.workersPerStage,
  timeoutSeconds,
  log,
});
log("(b) fixed-concurrency baseline");
const baseline = await runPipelineScenario({
  name: "(b)",
  description: `${settings.baselineConcurrency} in flight per process (${settings.baselineConcurrency * settings.workersPerStage * 2} total), SDK retries (3 attempts), no governor`,
  documents,
  timeScale: settings.timeScale,
  behaviour,
  serviceEnv: {
    QUIRE_GOVERNOR: "off",
    QUIRE_BEDROCK_RETRIES: "sdk",
    QUIRE_WORKER_CONCURRENCY: String(settings.baselineConcurrency),
  },
  workersPerStage: settings.workersPerStage,
  timeoutSeconds,
  log,
});
log("(c) sequential loop (sampled)");
const sequential = await measureSequential({
  sample: documents.slice(0, settings.sequentialSample),
  total: settings.documents,
  timeScale: settings.timeScale,
  behaviour,
});

// (d) The same documents through batch inference: what the run costs at the batch rate, and that
// it completes exactly once like (a). One record in a hundred fails inside the batch (on demand then).
let batch: BenchReport["batch"];
if (!args["skip-batch"]) {
  log("(d) batch inference");
  batch = await runPipelineScenario({
    name: "(d)",
    description: "mode batch: one batch job per stage, answers into the result cache, the stages complete from it",
    documents,
    timeScale: settings.timeScale,
    behaviour,
    bedrock: { batch: { recordFailureRate: 0.01 } },
    serviceEnv: { ...governorEnv(settings.requestsPerMinute), QUIRE_BATCH_POLL_SECONDS: "2" },
    runBody: { mode: "batch" },
    workersPerStage: settings.workersPerStage,
    timeoutSeconds,
    log,
  });
}

// The safety net: a quota configured wrong by 2× each way, and a foreign client taking half of it
// midway. Smaller runs (the adaptation is what they show), each with its own ideal.
const adaptationDocuments = generateDocuments(Number(args["adaptation-docs"] ?? (quick ? 600 : 2000)), 9, "adapt");
const adaptationIdeal = planThroughput({
  documents: adaptationDocuments.length,
  callsPerDocument: 2,
  meanLatencySeconds: settings.latencyMeanMs / 1000,
  meanTokensPerCall: governor.bedrock.meanTokensPerCall,
  quota: { requestsPerMinute: settings.requestsPerMinute, tokensPerMinute: settings.tokensPerMinute },
}).expectedSeconds;
const adaptation: AdaptationResult[] = [];
if (!args["skip-adaptation"]) {
  const scenarios = [
    { name: "quota configured 2× too high", configured: 2 * settings.requestsPerMinute },
    { name: "quota configured 2× too low", configured: settings.requestsPerMinute / 2 },
    {
      name: "a foreign client takes half midway",
      configured: settings.requestsPerMinute,
      foreign: { fromSeconds: adaptationIdeal / 2, requestsPerMinute: settings.requestsPerMinute / 2 },
    },
  ];
  for (const scenario of scenarios) {
    log(`adaptation: ${scenario.name}`);
    const result = await runPipelineScenario({
      name: scenario.name,
      description: scenario.name,
      documents: adaptationDocuments,
      timeScale: settings.timeScale,
      behaviour,
      serviceEnv: governorEnv(scenario.configured),
      workersPerStage: settings.workersPerStage,
      timeoutSeconds,
      log,
      ...(scenario.foreign ? { foreign: scenario.foreign } : {}),
    });
    adaptation.push({ ...result, configuredRequestsPerMinute: scenario.configured });
  }
}

let overhead: BenchReport["overhead"];
if (!args["skip-overhead"]) {
  log("pipeline overhead (zero-latency model, no quota)");
  const zero = await runPipelineScenario({
    name: "overhead",
    description: "zero-latency model",
    documents: generateDocuments(settings.overheadDocuments, 8, "overhead"),
    timeScale: 1,
    behaviour: {
      latency: { distribution: "fixed", meanMs: 0, jitterMs: 0, perOutputTokenMs: 0, minMs: 0 },
      quota: { requestsPerMinute: null, tokensPerMinute: null },
    },
    serviceEnv: { QUIRE_GOVERNOR: "adaptive", QUIRE_WORKER_CONCURRENCY: "64", QUIRE_GOVERNOR_INITIAL_LIMIT: "32" },
    workersPerStage: settings.workersPerStage,
    timeoutSeconds: quick ? 120 : 1800,
    log,
  });
  // A hop's cost is the CPU its processes spent per message they handled. (Handler wall time
  // would be queueing: with 64 handlers in flight each waits on the others and on devcloud.)
  const byService = new Map<string, { messages: number; cpuMs: number; queues: string[] }>();
  for (const process of zero.processes) {
    const service = process.name.replace(/-\d+$/, "");
    const entry = byService.get(service) ?? { messages: 0, cpuMs: 0, queues: [] };
    entry.cpuMs += process.cpuMs ?? 0;
    for (const runner of process.runners ?? []) {
      // Ingestion's own queue (Document Submitted from the bus) is idle here: its work is the POST.
      if (service === "ingestion") continue;
      entry.messages += runner.received;
      if (!entry.queues.includes(runner.queue)) entry.queues.push(runner.queue);
    }
    byService.set(service, entry);
  }
  const ingestion = byService.get("ingestion");
  byService.delete("ingestion");
  overhead = {
    documents: zero.documents,
    wallSeconds: zero.wallSeconds,
    docsPerSecond: zero.complete / zero.wallSeconds,
    hops: [
      {
        hop: "ingestion: POST /v1/runs (job records, claim checks, SNS publish)",
        messages: zero.documents,
        msPerMessage: (ingestion?.cpuMs ?? 0) / zero.documents,
      },
      // (A service with no message here, the batcher, has no hop.)
      ...[...byService]
        .filter(([, h]) => h.messages > 0)
        .map(([service, h]) => ({
          hop: `${service}: ${h.queues.join(" + ")} → handler`,
          messages: h.messages,
          msPerMessage: h.messages ? h.cpuMs / h.messages : 0,
        })),
      {
        hop: "devcloud (SNS, SQS, DynamoDB, EventBridge, Bedrock emulators; in the bench's process)",
        messages: zero.documents,
        msPerMessage: zero.devcloudCpuMs / zero.documents,
      },
    ],
    processes: zero.processes,
    ...(zero.requests ? { requests: zero.requests } : {}),
  };
}

const plan = planThroughput({
  documents: settings.documents,
  callsPerDocument: 2,
  meanLatencySeconds: settings.latencyMeanMs / 1000,
  meanTokensPerCall: governor.bedrock.meanTokensPerCall,
  quota: { requestsPerMinute: settings.requestsPerMinute, tokensPerMinute: settings.tokensPerMinute },
});
const report: BenchReport = {
  settings,
  idealSeconds: plan.expectedSeconds,
  governor,
  baseline,
  sequential,
  batch,
  overhead,
  adaptation,
};
const markdown = renderMarkdown(report);
const dir = fileURLToPath(new URL("../results/", import.meta.url));
mkdirSync(dir, { recursive: true });
const stem = `${quick ? "quick" : "full"}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
writeFileSync(`${dir}${stem}.json`, JSON.stringify(report, null, 2));
writeFileSync(`${dir}${stem}.md`, markdown);
writeFileSync(`${dir}${stem}.svg`, renderChart(governor, baseline, plan.concurrency));
if (adaptation.length) writeFileSync(`${dir}${stem}-adaptation.svg`, renderAdaptationChart(report));
writeFileSync(
  `${dir}latest${quick ? "-quick" : ""}.md`,
  markdown.replace("\n", `\n\nChart: ${stem}.svg, raw data: ${stem}.json.\n`),
);
process.stdout.write(`\n${markdown}\nwritten: bench/results/${stem}.{json,md,svg}\n`);
// The last line, for scripts: the governor's efficiency against Little's-law ideal.
process.stdout.write(`efficiency=${efficiencyOf(plan.expectedSeconds, governor.seconds).toFixed(2)}\n`);
