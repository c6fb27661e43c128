import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DEFAULT_MODEL_ID } from "@quire/bedrock";
import { DEFAULT_ANNOUNCE_LEASE_MS } from "@quire/jobs";
import type { DevcloudOptions } from "@quire/devcloud";
import { API_KEY, queueDepth, startCluster, type Cluster, type Scale } from "./cluster.ts";
import { computeLedger, startBusSpy, type BusSpy, type JobOutcome, type Ledger } from "./ledger.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./receiver.ts";

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
  /** Bus events the scenario put itself (copies, forgeries): not the pipeline's announcements. */
  injectedEventIds: Set<string>;
  /** Run at the end, whatever happens (receivers to close). */
  cleanup: (() => Promise<void>)[];
  /** What a scenario keeps between its steps (receivers, subscriptions). */
  state: Record<string, unknown>;
}

interface Scenario {
  name: string;
  description: string;
  /** The model's behaviour at devcloud's start. */
  bedrock?: (settings: Settings) => Partial<NonNullable<DevcloudOptions["bedrock"]>>;
  /** Environment added to every service process. */
  serviceEnv?: Record<string, string>;
  /** Before the run is submitted. */
  before?: (ctx: Omit<Context, "runId" | "jobIds">) => Promise<void>;
  /** While the run is under way; returns once the chaos is over (the run may still be going). */
  during(ctx: Context): Promise<void>;
  /** After the common ledger: the scenario's own checks, which add to it. */
  check?: (ctx: Context, ledger: Ledger) => Promise<void>;
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
    description:
      "each service SIGKILLed mid-run and restarted (twice over without --quick); a webhook subscriber counts webhook-ids",
    serviceEnv: { QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.0/8" },
    // What a user sees of a kill: every completion once, even one its killed publisher had put on
    // the bus just before dying (re-announced by the redelivery, `reannounced` in the ledger).
    before: subscribeHealthyReceiver,
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
    async check(ctx, ledger) {
      const { receiver, subscription } = ctx.state.healthy as Subscriber;
      await checkSubscriber(ctx, ledger, receiver, subscription, "subscriber");
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
  {
    name: "graceful-restart",
    description: "every stage worker SIGTERMed while its model calls outlast the 10 s shutdown grace, then restarted",
    async during(ctx) {
      const { scale } = ctx.settings;
      const bedrock = ctx.cluster.devcloud.bedrock;
      await someDone(ctx, 0.15);
      // The runner's grace is 10 s (startLocalRunner's default; runLocally does not change it): a
      // model call of 12–16 s (model time ÷ the time scale) is still running when it runs out.
      const slowMs = 14_000;
      bedrock.configureModel(DEFAULT_MODEL_ID, {
        latency: {
          meanMs: slowMs / scale.timeScale,
          jitterMs: 1000 / scale.timeScale,
          minMs: 12_000 / scale.timeScale,
        },
      });
      // Calls begun before the change end within a second; wait for slow ones to be under way.
      await sleep(1500);
      const deadline = Date.now() + 15_000;
      while ((bedrock.stats()[DEFAULT_MODEL_ID]?.inFlight ?? 0) === 0 && Date.now() < deadline) await sleep(100);
      ctx.chaos.modelCallsInFlight = bedrock.stats()[DEFAULT_MODEL_ID]?.inFlight ?? 0;
      const workers = ctx.cluster.processes.filter((p) => p.service === "summarizer" || p.service === "classifier");
      const stopped = Date.now();
      const stopping = Promise.all(
        workers.map(async ({ name }) => {
          await ctx.cluster.kill(name, "SIGTERM");
          return Date.now() - stopped;
        }),
      );
      // The restarted workers get the usual model again; the calls already running stay slow.
      await sleep(500);
      bedrock.configureModel(DEFAULT_MODEL_ID, {
        latency: { meanMs: scale.modelLatencyMs, jitterMs: scale.modelLatencyMs / 6, minMs: 200 },
      });
      const stopMs = await stopping;
      ctx.chaos.sigterms = workers.length;
      ctx.chaos.stopSeconds = stopMs.map((ms) => (ms / 1000).toFixed(1)).join(",");
      for (const { name } of workers) ctx.cluster.start(name);
      for (const { name } of workers) await waitHealthy(ctx.cluster, name);
    },
  },
  {
    name: "duplicate-completions",
    description:
      "every Job Completed put on the bus again from its declared source, and once from an undeclared one; a webhook subscriber counts webhook-ids",
    serviceEnv: { QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.0/8" },
    before: subscribeHealthyReceiver,
    async during(ctx) {
      await waitForRun(ctx, (c) => c.complete + c.failed >= c.total, ctx.settings.settleTimeoutMs, "the run");
      const { receiver } = ctx.state.healthy as Subscriber;
      await waitFor(() => distinctIds(receiver).size >= ctx.jobIds.length, 30_000);
      // Copies of the completions the spy saw: each is a new EventBridge event (its own id).
      const originals = ctx.spy
        .events()
        .filter((e) => e["detail-type"] === "Job Completed" && e.detail.runId === ctx.runId);
      const bus = ctx.cluster.config.QUIRE_BUS_EVENTS_NAME;
      const entries = [
        ...originals.map((e) => ({ source: e.source, detail: e.detail })),
        ...originals.slice(0, 1).map((e) => ({ source: "quire.attacker", detail: e.detail })),
      ];
      let put = 0;
      for (let i = 0; i < entries.length; i += 10) {
        const batch = entries.slice(i, i + 10);
        const answer = await ctx.cluster.clients.events.send(
          new PutEventsCommand({
            Entries: batch.map(({ source, detail }) => ({
              EventBusName: bus,
              Source: source,
              DetailType: "Job Completed",
              Detail: JSON.stringify(detail),
            })),
          }),
        );
        for (const entry of answer.Entries ?? []) {
          if (entry.EventId) {
            ctx.injectedEventIds.add(entry.EventId);
            put++;
          }
        }
      }
      ctx.chaos.copiesPut = put;
      ctx.chaos.forgedSource = "quire.attacker";
      // Whatever the copies would cause arrives within seconds.
      await sleep(8000);
    },
    async check(ctx, ledger) {
      const { receiver, subscription } = ctx.state.healthy as Subscriber;
      await checkSubscriber(ctx, ledger, receiver, subscription, "subscriber");
      ctx.chaos.webhooksReceived = receiver.received.length;
    },
  },
  {
    name: "webhook-receiver",
    description:
      "a webhook receiver down, then slow past the timeout, then 500, then 410 (disabled); a second, healthy one gets every completion once",
    serviceEnv: {
      QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.0/8",
      QUIRE_WEBHOOK_TIMEOUT_MS: "1000",
      // Retries 1 s, 2 s, 2 s … (model hours → seconds at ×0.01).
      QUIRE_NOTIFIER_TIME_SCALE: "0.01",
      QUIRE_WEBHOOK_RETRY_SCHEDULE: "100s,200s,200s,200s,200s,200s,200s,200s,200s,200s",
    },
    async before(ctx) {
      const healthy = await startWebhookReceiver();
      const flaky = await startWebhookReceiver();
      ctx.cleanup.push(
        () => healthy.close(),
        () => flaky.close(),
      );
      await flaky.down();
      ctx.state.healthy = { receiver: healthy, subscription: await subscribe(ctx.cluster, healthy) };
      ctx.state.flaky = { receiver: flaky, subscription: await subscribe(ctx.cluster, flaky) };
    },
    async during(ctx) {
      const { receiver: flaky } = ctx.state.flaky as Subscriber;
      const answered = (status: number, delayMs = 0) =>
        flaky.received.filter((r) => r.status === status && r.delayMs === delayMs).length;
      await someDone(ctx, 0.2);
      await sleep(3000);
      ctx.chaos.downSeconds = 3;
      await flaky.up();
      flaky.setMode({ status: 204, delayMs: 3000 });
      await waitFor(() => answered(204, 3000) >= 3, 20_000);
      flaky.setMode({ status: 500 });
      await waitFor(() => answered(500) >= 3, 20_000);
      flaky.setMode({ status: 410 });
      await waitFor(() => answered(410) >= 1, 20_000);
      ctx.chaos.slowAnswers = answered(204, 3000);
      ctx.chaos.answered500 = answered(500);
      ctx.chaos.answered410 = answered(410);
    },
    async check(ctx, ledger) {
      const healthy = ctx.state.healthy as Subscriber;
      const flaky = ctx.state.flaky as Subscriber;
      await checkSubscriber(ctx, ledger, healthy.receiver, healthy.subscription, "healthy receiver");
      const subscription = await notifierApi<{ status: string }>(
        ctx.cluster,
        `/v1/subscriptions/${flaky.subscription}`,
      );
      ctx.chaos.flakyStatus = subscription?.body.status ?? "unknown";
      if (subscription?.body.status !== "disabled")
        ledger.problems.push(`the flaky subscription is ${subscription?.body.status}, not disabled after a 410`);
      const open = await openDeliveries(ctx.cluster, flaky.subscription);
      ctx.chaos.flakyDeliveriesOpen = open.length;
      if (open.length) {
        ledger.stuck += open.length;
        ledger.problems.push(
          `flaky subscription: ${open.length} deliveries still open (${open.map((d) => `${d.id} ${d.status}`).join(", ")})`,
        );
      }
      ctx.chaos.flakyAttempts = flaky.receiver.received.length;
    },
  },
];

export const scenarioNames = scenarios.map((s) => s.name);

interface Subscriber {
  receiver: WebhookReceiver;
  subscription: string;
}

async function waitFor(done: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await sleep(100);
}

/** The notifier's API. */
async function notifierApi<T>(
  cluster: Cluster,
  path: string,
  init: { json?: unknown } = {},
): Promise<{ status: number; body: T } | undefined> {
  try {
    const response = await fetch(`${cluster.notifier}${path}`, {
      headers: { "x-api-key": API_KEY, ...(init.json !== undefined ? { "content-type": "application/json" } : {}) },
      ...(init.json !== undefined ? { method: "POST", body: JSON.stringify(init.json) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json()) as T };
  } catch {
    return undefined;
  }
}

/** A webhook subscription to `job.completed` for the receiver; its id. */
async function subscribe(cluster: Cluster, receiver: WebhookReceiver): Promise<string> {
  const answer = await notifierApi<{ id: string }>(cluster, "/v1/subscriptions", {
    json: { kind: "webhook", url: receiver.url, events: ["job.completed"], description: "chaos" },
  });
  if (answer?.status !== 201) throw new Error(`could not subscribe ${receiver.url}: ${JSON.stringify(answer)}`);
  return answer.body.id;
}

/** A local webhook receiver subscribed to `job.completed`, kept as `ctx.state.healthy` for checkSubscriber. */
async function subscribeHealthyReceiver(ctx: {
  cluster: Cluster;
  cleanup: Context["cleanup"];
  state: Context["state"];
}) {
  const receiver = await startWebhookReceiver();
  ctx.cleanup.push(() => receiver.close());
  ctx.state.healthy = { receiver, subscription: await subscribe(ctx.cluster, receiver) } satisfies Subscriber;
}

const distinctIds = (receiver: WebhookReceiver) =>
  new Set(receiver.received.filter((r) => r.type === "job.completed").map((r) => r.webhookId));

interface DeliveryView {
  id: string;
  status: string;
  messageId: string;
}
async function openDeliveries(cluster: Cluster, subscription: string): Promise<DeliveryView[]> {
  const answer = await notifierApi<{ deliveries: DeliveryView[] }>(
    cluster,
    `/v1/subscriptions/${subscription}/deliveries?limit=1000`,
  );
  if (answer?.status !== 200)
    return [{ id: "(deliveries API)", status: String(answer?.status ?? "down"), messageId: "" }];
  return answer.body.deliveries.filter((d) => !["succeeded", "failed"].includes(d.status));
}

/**
 * Duplicated as a subscriber sees it: every job's completion reaches it under exactly one
 * webhook-id (two ids for one job count as duplicated, none as stuck), and none of its deliveries
 * is left pending, sending or retrying.
 */
async function checkSubscriber(
  ctx: Context,
  ledger: Ledger,
  receiver: WebhookReceiver,
  subscription: string,
  who: string,
) {
  const deadline = Date.now() + 30_000;
  let open: DeliveryView[] = [];
  for (;;) {
    open = await openDeliveries(ctx.cluster, subscription);
    if ((open.length === 0 && distinctIds(receiver).size >= ctx.jobIds.length) || Date.now() > deadline) break;
    await sleep(500);
  }
  const idsByJob = new Map<string, Set<string>>();
  for (const r of receiver.received) {
    if (r.type !== "job.completed" || !r.jobId || !(r.status >= 200 && r.status < 300)) continue;
    const ids = idsByJob.get(r.jobId) ?? new Set<string>();
    ids.add(r.webhookId);
    idsByJob.set(r.jobId, ids);
  }
  let once = 0;
  for (const jobId of ctx.jobIds) {
    const ids = idsByJob.get(jobId)?.size ?? 0;
    if (ids === 1) once++;
    else if (ids === 0) {
      ledger.stuck++;
      ledger.problems.push(`${who}: ${jobId}'s completion never delivered`);
    } else {
      ledger.duplicated += ids - 1;
      ledger.problems.push(`${who}: ${jobId}'s completion delivered under ${ids} webhook-ids`);
    }
  }
  const strangers = [...idsByJob.keys()].filter((jobId) => !ctx.jobIds.includes(jobId));
  if (strangers.length) ledger.problems.push(`${who}: completions of jobs not in the run: ${strangers.join(", ")}`);
  if (open.length) {
    ledger.stuck += open.length;
    ledger.problems.push(`${who}: ${open.length} deliveries still open (${open.map((d) => d.status).join(", ")})`);
  }
  ctx.chaos[`${who.replace(/ /g, "_")}_deliveredOnce`] = `${once}/${ctx.jobIds.length}`;
}

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
    ...(scenario.serviceEnv ? { serviceEnv: scenario.serviceEnv } : {}),
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
    injectedEventIds: new Set<string>(),
    cleanup: [] as (() => Promise<void>)[],
    state: {} as Record<string, unknown>,
  };
  try {
    await scenario.before?.(base);
    const ctx: Context = { ...base, ...(await submitRun(cluster, documentsFor(scenario.name, settings.documents))) };
    await scenario.during(ctx);
    const ledger = await settle(ctx);
    if (scenario.check) {
      await scenario.check(ctx, ledger);
      ledger.ok = ledger.problems.length === 0;
    }
    return {
      name: scenario.name,
      description: scenario.description,
      chaos: ctx.chaos,
      ledger,
      seconds: (performance.now() - started) / 1000,
      logDir,
    };
  } finally {
    for (const step of base.cleanup) await step().catch(() => {});
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

/** What the pipeline announced: the spy's events less those the scenario put itself. */
const pipelineEvents = (ctx: Context) => ctx.spy.events().filter((e) => !ctx.injectedEventIds.has(e.id));

/** Wait until every job is terminal and announced, its run announced, the work queues empty; then the ledger. */
async function settle(ctx: Context): Promise<Ledger> {
  const { cluster } = ctx;
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
    const events = pipelineEvents(ctx);
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
    events: pipelineEvents(ctx),
    redrivenRuns: ctx.redrivenRuns,
    leftInWorkQueues: left,
    health: await cluster.health(),
    deaths: cluster.deaths,
    announceLeaseMs: DEFAULT_ANNOUNCE_LEASE_MS,
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
