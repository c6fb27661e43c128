import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DEFAULT_MODEL_ID } from "@quire/bedrock";
import type { DevcloudOptions } from "@quire/devcloud";
import { API_KEY, queueDepth, startCluster, type Cluster, type Scale } from "./cluster.ts";
import { computeLedger, startBusSpy, type BusSpy, type JobOutcome, type Ledger } from "./ledger.ts";

export interface Settings {
  quick: boolean;
  documents: number;
  workersPerStage: number;
  scale: Scale;
  /** How long a scenario may take to settle after its chaos (real ms). */
  settleTimeoutMs: number;
  /** Where each scenario's process logs go. */
  logRoot: string;
  log: (line: string) => void;
}

export interface ScenarioResult {
  name: string;
  description: string;
  seconds: number;
  /** What the chaos did, in numbers (kills, faults injected, duplicates, throttles…). */
  chaos: Record<string, number | string>;
  ledger: Ledger;
  logDir: string;
}

interface Context {
  cluster: Cluster;
  spy: BusSpy;
  settings: Settings;
  runId: string;
  jobIds: string[];
  /** Filled in by the scenario. */
  chaos: Record<string, number | string>;
  redrivenRuns: Set<string>;
  /** DLQ messages the scenario leaves on purpose (its unfixable poison). */
  expectedDeadLetters: number;
}

interface Scenario {
  name: string;
  description: string;
  /** The model's behaviour at devcloud's start. */
  bedrock?: (settings: Settings) => Partial<NonNullable<DevcloudOptions["bedrock"]>>;
  /** Before the run is submitted. */
  before?: (ctx: Omit<Context, "runId" | "jobIds">) => Promise<void>;
  /** While the run is under way; returns once the chaos is over (the run may still be going). */
  during(ctx: Context): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The ingestion API, tolerant of the API being down (its process killed) or faulted. */
async function api<T>(
  cluster: Cluster,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; body: T } | undefined> {
  const { json, ...rest } = init;
  try {
    const response = await fetch(`${cluster.api}${path}`, {
      ...rest,
      headers: { "x-api-key": API_KEY, ...(json !== undefined ? { "content-type": "application/json" } : {}) },
      ...(json !== undefined ? { body: JSON.stringify(json), method: rest.method ?? "POST" } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json()) as T };
  } catch {
    return undefined;
  }
}

interface RunCounts {
  total: number;
  complete: number;
  failed: number;
}
async function runCounts(cluster: Cluster, runId: string): Promise<RunCounts | undefined> {
  const answer = await api<{ counts: RunCounts }>(cluster, `/v1/runs/${runId}`);
  return answer?.status === 200 ? answer.body.counts : undefined;
}

/** Until the run's counts satisfy `until` (or the timeout: then it says so and goes on). */
async function waitForRun(
  ctx: Context,
  until: (c: RunCounts) => boolean,
  timeoutMs: number,
  what: string,
): Promise<RunCounts | undefined> {
  const deadline = Date.now() + timeoutMs;
  let counts: RunCounts | undefined;
  for (;;) {
    counts = (await runCounts(ctx.cluster, ctx.runId)) ?? counts;
    if (counts && until(counts)) return counts;
    if (Date.now() > deadline) {
      ctx.settings.log(`    (gave up waiting for ${what}: ${JSON.stringify(counts)})`);
      return counts;
    }
    await sleep(250);
  }
}
const someDone = (ctx: Context, fraction: number) =>
  waitForRun(
    ctx,
    (c) => c.complete + c.failed >= Math.max(1, Math.floor(c.total * fraction)),
    60_000,
    `${fraction * 100}% of the run`,
  );

async function waitHealthy(cluster: Cluster, name: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await cluster.health()).find((h) => h.name === name)?.ok) return;
    await sleep(100);
  }
}

/** Stage queues: those consumed by a model-calling service. */
const stageQueues = (cluster: Cluster) =>
  (Object.keys(cluster.workQueues) as (keyof Cluster["workQueues"])[]).filter(
    (q) => q.startsWith("summarizer") || q.startsWith("classifier"),
  );

export const scenarios: Scenario[] = [
  {
    name: "kill",
    description: "each service SIGKILLed mid-run and restarted (twice over without --quick)",
    async during(ctx) {
      await someDone(ctx, 0.15);
      const rounds = ctx.settings.quick ? 1 : 2;
      let kills = 0;
      const doneAtKill: number[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const { name } of ctx.cluster.processes) {
          const counts = await runCounts(ctx.cluster, ctx.runId);
          if (counts) doneAtKill.push(counts.complete + counts.failed);
          await ctx.cluster.kill(name, "SIGKILL");
          kills++;
          await sleep(500);
          ctx.cluster.start(name);
          await waitHealthy(ctx.cluster, name);
          await sleep(1000);
        }
      }
      ctx.chaos.sigkills = kills;
      // How far the run was at each kill (jobs done of the total): mid-run, not after it.
      ctx.chaos.doneAtKills = `${doneAtKill.join(",")}/${ctx.jobIds.length}`;
    },
  },
  {
    name: "devcloud-restart",
    description: "devcloud stopped mid-run and restarted on its data dir and port",
    async during(ctx) {
      await someDone(ctx, 0.2);
      const downMs = ctx.settings.quick ? 2000 : 5000;
      await ctx.cluster.restartDevcloud(downMs);
      await ctx.spy.install();
      ctx.chaos.downMs = downMs;
    },
  },
  {
    name: "duplicates",
    description: "every SQS message of the work queues delivered 2–3 times",
    async before(ctx) {
      ctx.cluster.devcloud.faults.configure({
        seed: 13,
        rules: [],
        duplicateDeliveries: { rate: 1, copies: 2, queues: workQueueNames(ctx.cluster) },
      });
    },
    async during(ctx) {
      await someDone(ctx, 0.3);
      const first = ctx.cluster.devcloud.faults.state().duplicateDeliveries?.stats;
      ctx.cluster.devcloud.faults.configure({
        seed: 14,
        rules: [],
        duplicateDeliveries: { rate: 1, copies: 3, queues: workQueueNames(ctx.cluster) },
      });
      await waitForRun(ctx, (c) => c.complete + c.failed >= c.total, ctx.settings.settleTimeoutMs, "the run");
      const second = ctx.cluster.devcloud.faults.state().duplicateDeliveries?.stats;
      ctx.cluster.devcloud.faults.clear();
      ctx.chaos.messagesDuplicated = (first?.duplicated ?? 0) + (second?.duplicated ?? 0);
      ctx.chaos.copiesReceived = (first?.copiesReceived ?? 0) + (second?.copiesReceived ?? 0);
    },
  },
  {
    name: "throttle-outage",
    description:
      "a throttling storm (quota cut to 5 % for a model minute), then a Bedrock outage of minutes (time-scaled)",
    async during(ctx) {
      const { scale, quick } = ctx.settings;
      const bedrock = ctx.cluster.devcloud.bedrock;
      const before = bedrock.stats()[DEFAULT_MODEL_ID];
      await someDone(ctx, 0.15);
      bedrock.configureModel(DEFAULT_MODEL_ID, {
        quota: { requestsPerMinute: Math.max(1, Math.round(scale.modelRpm * 0.05)) },
      });
      await sleep(60_000 * scale.timeScale);
      bedrock.configureModel(DEFAULT_MODEL_ID, { quota: { requestsPerMinute: scale.modelRpm } });
      const outageMinutes = quick ? 2 : 5;
      bedrock.configureModel(DEFAULT_MODEL_ID, { faults: { serviceUnavailableRate: 1 } });
      await sleep(outageMinutes * 60_000 * scale.timeScale);
      bedrock.configureModel(DEFAULT_MODEL_ID, { faults: { serviceUnavailableRate: 0 } });
      const after = bedrock.stats()[DEFAULT_MODEL_ID];
      ctx.chaos.throttles = (after?.throttles ?? 0) - (before?.throttles ?? 0);
      ctx.chaos.unavailable = (after?.faults.serviceUnavailable ?? 0) - (before?.faults.serviceUnavailable ?? 0);
      ctx.chaos.outageModelMinutes = outageMinutes;
    },
  },
  {
    name: "5xx",
    description: "500/503 from SQS, SNS, DynamoDB and EventBridge at a few percent for the whole run",
    async before(ctx) {
      ctx.cluster.devcloud.faults.configure({
        seed: 21,
        rules: [
          // A run's documents go out in a couple of PublishBatch calls: make sure one of them meets a fault.
          { id: "sns-first-publish-503", service: "sns", error: "ServiceUnavailable", count: 1 },
          ...(["sqs", "sns", "dynamodb", "events"] as const).flatMap((service) => [
            { id: `${service}-500`, service, error: "InternalError" as const, rate: 0.03 },
            { id: `${service}-503`, service, error: "ServiceUnavailable" as const, rate: 0.02 },
          ]),
        ],
      });
    },
    async during(ctx) {
      await waitForRun(ctx, (c) => c.complete + c.failed >= c.total, ctx.settings.settleTimeoutMs, "the run");
      const state = ctx.cluster.devcloud.faults.state();
      ctx.cluster.devcloud.faults.clear();
      for (const rule of state.rules) ctx.chaos[rule.id] = rule.injected;
    },
  },
  {
    name: "poison-redrive",
    description:
      "a poison message on every work queue and a model that fails every answer; the model fixed, the DLQs redriven through the dead-letters API",
    bedrock: () => ({ models: { [DEFAULT_MODEL_ID]: { faults: { modelErrorRate: 1 } } } }),
    async before(ctx) {
      // Unfixable poison: not a message any consumer accepts. It must land in its DLQ and stay there.
      for (const url of Object.values(ctx.cluster.workQueues)) {
        await ctx.cluster.clients.sqs.send(
          new SendMessageCommand({ QueueUrl: url, MessageBody: '{"chaos":"poison"}' }),
        );
      }
      ctx.expectedDeadLetters = Object.keys(ctx.cluster.workQueues).length;
    },
    async during(ctx) {
      const failed = await waitForRun(
        ctx,
        (c) => c.failed >= c.total,
        ctx.settings.settleTimeoutMs,
        "every job to fail",
      );
      ctx.chaos.failedBeforeRedrive = failed?.failed ?? 0;
      // A job fails at its first failing stage; its other stage's message may still be waiting out a
      // retry in its work queue, and reaches the DLQ (JOB_FAILED) only when it is next received.
      // Redrive once the stage queues have drained, as an operator reading `quire dlq` would.
      const drainedBy = Date.now() + 60_000;
      while (Date.now() < drainedBy) {
        let left = 0;
        for (const queue of stageQueues(ctx.cluster))
          left += await queueDepth(ctx.cluster, ctx.cluster.workQueues[queue]).catch(() => 1);
        if (left === 0) break;
        await sleep(500);
      }
      // The cause is fixed; redrive every stage DLQ by failure code, leaving the poison
      // (SCHEMA_VIOLATION). Again while dead letters keep arriving, until the run completes.
      ctx.cluster.devcloud.bedrock.configureModel(DEFAULT_MODEL_ID, { faults: { modelErrorRate: 0 } });
      let redriven = 0;
      let rounds = 0;
      for (; rounds < 5; rounds++) {
        let moved = 0;
        for (const queue of stageQueues(ctx.cluster)) {
          const summary = await api<{ queues: { groups: { code: string; count: number }[] }[] }>(
            ctx.cluster,
            `/v1/dead-letters?queue=${queue}`,
          );
          for (const group of summary?.body.queues[0]?.groups ?? []) {
            if (group.code === "SCHEMA_VIOLATION") continue;
            const answer = await api<{ moved: number }>(ctx.cluster, `/v1/dead-letters/${queue}/redrive`, {
              json: { code: group.code },
            });
            moved += answer?.body.moved ?? 0;
          }
        }
        redriven += moved;
        if (moved === 0 && rounds > 0) break;
        const counts = await waitForRun(ctx, (c) => c.complete >= c.total, 15_000, "the redriven run");
        if (counts && counts.complete >= counts.total) break;
      }
      ctx.chaos.redriven = redriven;
      ctx.chaos.redriveRounds = rounds + 1;
      ctx.redrivenRuns.add(ctx.runId);
    },
  },
];

export const scenarioNames = scenarios.map((s) => s.name);

function workQueueNames(cluster: Cluster): string[] {
  return Object.values(cluster.workQueues).map((url) => url.split("/").at(-1)!);
}

function documentsFor(scenario: string, count: number) {
  const tag = `${scenario}-${Date.now().toString(36)}`;
  return Array.from({ length: count }, (_, i) => ({
    title: `Notice ${i}`,
    text: `Run ${tag}, notice ${i}. Dear tenant, the rent of unit ${i} rises by ${i % 7} percent from March. Please reply within 30 days. Yours, the landlord.`,
  }));
}

/** Play one scenario on a fresh cluster and check its ledger. */
export async function play(scenario: Scenario, settings: Settings): Promise<ScenarioResult> {
  const started = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), `quire-chaos-${scenario.name}-`));
  const logDir = join(settings.logRoot, scenario.name);
  const { scale } = settings;
  const cluster = await startCluster({
    dataDir,
    logDir,
    scale,
    workersPerStage: settings.workersPerStage,
    bedrock: {
      timeScale: scale.timeScale,
      seed: 7,
      defaults: {
        latency: {
          distribution: "normal",
          meanMs: scale.modelLatencyMs,
          jitterMs: scale.modelLatencyMs / 6,
          perOutputTokenMs: 0,
          minMs: 200,
        },
        quota: { requestsPerMinute: scale.modelRpm, tokensPerMinute: null },
      },
      ...scenario.bedrock?.(settings),
    },
  });
  const spy = await startBusSpy(cluster);
  const base = {
    cluster,
    spy,
    settings,
    chaos: {} as Record<string, number | string>,
    redrivenRuns: new Set<string>(),
    expectedDeadLetters: 0,
  };
  try {
    await scenario.before?.(base);
    const ctx: Context = { ...base, ...(await submitRun(cluster, documentsFor(scenario.name, settings.documents))) };
    await scenario.during(ctx);
    return {
      name: scenario.name,
      description: scenario.description,
      chaos: ctx.chaos,
      ledger: await settle(ctx),
      seconds: (performance.now() - started) / 1000,
      logDir,
    };
  } finally {
    await spy.stop();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Submit the run like a client would: a 5xx (a fault the API reports) is retried; jobs count from the 202. */
async function submitRun(cluster: Cluster, documents: { title: string; text: string }[]) {
  for (let attempt = 1; ; attempt++) {
    const answer = await api<{ runId: string; jobIds: string[] }>(cluster, "/v1/runs", { json: { documents } });
    if (answer?.status === 202) return { runId: answer.body.runId, jobIds: answer.body.jobIds };
    if (attempt >= 10) throw new Error(`the run was not accepted: ${JSON.stringify(answer)}`);
    await sleep(500);
  }
}

/** Wait until every job is terminal and announced, its run announced, the work queues empty; then the ledger. */
async function settle(ctx: Context): Promise<Ledger> {
  const { cluster, spy } = ctx;
  const deadline = Date.now() + ctx.settings.settleTimeoutMs;
  const jobs = new Map<string, JobOutcome>(
    ctx.jobIds.map((jobId) => [jobId, { jobId, runId: ctx.runId, status: "unknown" }]),
  );
  let left = 0;
  for (;;) {
    for (const job of jobs.values()) {
      if (job.status === "complete") continue;
      const answer = await api<{ status: string; error?: { code: string } }>(cluster, `/v1/jobs/${job.jobId}`);
      if (answer?.status === 200) Object.assign(job, { status: answer.body.status, code: answer.body.error?.code });
    }
    const events = spy.events();
    const announced = (type: string, key: string, id: string) =>
      events.some((e) => e["detail-type"] === type && e.detail[key] === id);
    const terminal = [...jobs.values()].every(
      (j) =>
        (j.status === "complete" && announced("Job Completed", "jobId", j.jobId)) ||
        (j.status === "failed" && announced("Job Failed", "jobId", j.jobId)),
    );
    left = 0;
    if (terminal) {
      for (const url of Object.values(cluster.workQueues)) left += await queueDepth(cluster, url).catch(() => 1);
    }
    if ((terminal && left === 0 && announced("Run Completed", "runId", ctx.runId)) || Date.now() > deadline) break;
    await sleep(500);
  }
  // Late duplicates would arrive now, if any.
  await sleep(2000);
  let deadLetters = 0;
  for (const url of Object.values(cluster.deadLetterQueues))
    deadLetters += await queueDepth(cluster, url).catch(() => 0);
  const ledger = computeLedger({
    jobs: [...jobs.values()],
    runIds: [ctx.runId],
    events: spy.events(),
    redrivenRuns: ctx.redrivenRuns,
    leftInWorkQueues: left,
    health: await cluster.health(),
  });
  if (deadLetters !== ctx.expectedDeadLetters) {
    ledger.problems.push(`${deadLetters} messages in DLQs, expected ${ctx.expectedDeadLetters}`);
    ledger.ok = false;
  }
  ctx.chaos.deadLetters = deadLetters;
  if (!ledger.ok) {
    // What a failed ledger needs to be read: the jobs left open as the API shows them, and the DLQs.
    for (const job of [...jobs.values()].filter((j) => j.status !== "complete" && j.status !== "failed").slice(0, 3)) {
      const answer = await api<unknown>(cluster, `/v1/jobs/${job.jobId}`);
      ledger.problems.push(`open job: ${JSON.stringify(answer?.body)}`);
    }
    const summary = await api<{
      queues: { queue: string; approximateCount: number; groups: { code: string; count: number }[] }[];
    }>(cluster, "/v1/dead-letters");
    for (const q of summary?.body.queues ?? []) {
      if (q.approximateCount)
        ledger.problems.push(`DLQ ${q.queue}: ${q.groups.map((g) => `${g.code}×${g.count}`).join(", ")}`);
    }
  }
  return ledger;
}
