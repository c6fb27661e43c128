import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import {
  createBedrockStageClient,
  createGovernor,
  createQuotaMembership,
  eventSourceMaximumConcurrency,
  loadPriceTable,
  type Governor,
  type GovernorOptions,
  type QuotaMembership,
} from "@quire/bedrock";
import type { QuireConfig } from "@quire/config";
import type { ServiceName } from "@quire/contracts";
import { resourceEnvironmentKey, stagesSharingModel, topology, type QueueName } from "@quire/topology";
import { createGovernorReportStore, createJobStore, createQuotaMemberStore } from "@quire/jobs";
import {
  createLambdaHandler,
  createLogger,
  startLocalRunner,
  type Consumer,
  type LocalRunner,
  type Logger,
  type RedeliveryPolicy,
  type RunnerAdmission,
} from "@quire/runtime";
import { metricsFor } from "@quire/telemetry";
import { createApiKeys, type ApiKeys } from "@quire/api-keys";
import { createBatchRunner } from "./batch-runner.ts";
import { createBatcher } from "./batcher.ts";
import type { AwsClients } from "./clients.ts";
import { DocumentPublisher } from "./document-publisher.ts";
import { loadDocumentText } from "./document-source.ts";
import { createEventPublisher } from "./event-publisher.ts";
import { startGovernorReporting } from "./governor-reporting.ts";
import { createJobLifecycle } from "./lifecycle.ts";
import { createRunBudget } from "./run-budget.ts";
import type { StageDependencies } from "./stage-handler.ts";

/**
 * One governor per process: stages in the same process (and every concurrent message) share the
 * model's quota through it. Several processes (and Lambda containers) share it through their
 * membership of the quota in the jobs table (see {@link quotaMembershipFor}); with
 * QUIRE_QUOTA_SHARE=off, by AIMD, without talking. The first caller with `clients` (the stage's
 * dependencies, in both hosts) decides.
 */
let processGovernor: Governor | undefined;
let processMembership: QuotaMembership | undefined;
/** This process's id in the governor reports. */
const processId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
let governorReporting: ReturnType<typeof startGovernorReporting> | undefined;
const reportingServices = new Set<string>();

/** The governor's figures in the jobs table every QUIRE_GOVERNOR_REPORT_MS, once per process, naming its stages. */
function reportGovernor(config: QuireConfig, clients: AwsClients, governor: Governor, service: string) {
  if (config.QUIRE_GOVERNOR_REPORT_MS === 0) return;
  reportingServices.add(service);
  governorReporting ??= startGovernorReporting({
    governor,
    store: createGovernorReportStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME }),
    processId,
    services: () => [...reportingServices].sort(),
    everyMs: config.QUIRE_GOVERNOR_REPORT_MS,
  });
}
export function governorFor(config: QuireConfig, clients?: AwsClients): Governor | undefined {
  if (config.QUIRE_GOVERNOR === "off") return undefined;
  if (!processGovernor) {
    processMembership = clients ? quotaMembershipFor(config, clients) : undefined;
    processGovernor = createGovernor({
      ...governorSettings(config),
      ...(processMembership ? { quotaShare: processMembership } : {}),
    });
  }
  return processGovernor;
}

/** Whether this config shares the model's quota through the jobs table: a known quota, and not switched off. */
const sharesQuota = (config: QuireConfig) =>
  config.QUIRE_QUOTA_SHARE === "dynamodb" && Boolean(config.QUIRE_BEDROCK_RPM ?? config.QUIRE_BEDROCK_TPM);

/**
 * This process's membership of the model's quota: a heartbeat with its demand every
 * QUIRE_QUOTA_SHARE_REFRESH_MS in the jobs table (`QUOTA#<modelId>` / `MEMBER#<memberId>`), and
 * a max-min fair share of the quota from the live members. The table unreachable: the last
 * known share, then the quota ÷ the stages sharing the model, with AIMD as the safety net.
 */
export function quotaMembershipFor(config: QuireConfig, clients: AwsClients): QuotaMembership | undefined {
  if (!sharesQuota(config)) return undefined;
  const log = createLogger({ component: "quota-share" });
  return createQuotaMembership({
    store: createQuotaMemberStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME }),
    memberId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    refreshMs: config.QUIRE_QUOTA_SHARE_REFRESH_MS,
    fallbackFraction: 1 / stagesSharingModel,
    onError: (error, modelId) =>
      log.warn("the quota's shared view is unreachable: pacing at the last known share, then the fallback", {
        modelId,
        error,
      }),
  });
}

/**
 * How a process's governor starts. With a known quota, a fresh (or restarted) process starts at
 * its share of what the quota sustains (RPM × latency, split among the stages), not at a guess
 * it must double from — a worker restarted under a binding quota does not storm it while the
 * others hold their shares — and slow start stops at what the whole quota sustains.
 */
export function governorSettings(config: QuireConfig): GovernorOptions {
  const rpm = config.QUIRE_BEDROCK_RPM;
  // Little's law: calls in flight the quota sustains = rate × latency. The share is rounded down
  // (the processes together start under the quota); the ceiling has the planning headroom.
  const inFlight = rpm ? (rpm * config.QUIRE_BEDROCK_LATENCY_MS) / 60_000 : undefined;
  // Sharing the quota, each process's buckets pace at its share: a 1 s burst (QUIRE_GOVERNOR_BURST_MS:
  // the quota's minute then holds hardly more than its rate), and a start of one request, so a run
  // starts at the quota's rate.
  const sharing = sharesQuota(config)
    ? {
        burstSeconds: config.QUIRE_GOVERNOR_BURST_MS / 1000,
        startBurstSeconds: 0,
        expectedLatencyMs: config.QUIRE_BEDROCK_LATENCY_MS,
        quotaWindowMs: config.QUIRE_BEDROCK_QUOTA_WINDOW_MS,
      }
    : {};
  return {
    ...sharing,
    initialLimit:
      config.QUIRE_GOVERNOR_INITIAL_LIMIT ?? (inFlight ? Math.max(1, Math.floor(inFlight / stagesSharingModel)) : 4),
    ...(rpm
      ? {
          slowStartCeiling: eventSourceMaximumConcurrency({
            requestsPerMinute: rpm,
            meanLatencyMs: config.QUIRE_BEDROCK_LATENCY_MS,
            stagesSharingModel: 1,
          }),
        }
      : {}),
    quotas: { [config.QUIRE_MODEL_ID]: { requestsPerMinute: rpm, tokensPerMinute: config.QUIRE_BEDROCK_TPM } },
    circuit: { openMs: config.QUIRE_BEDROCK_CIRCUIT_OPEN_MS, maxOpenMs: config.QUIRE_BEDROCK_CIRCUIT_MAX_OPEN_MS },
  };
}

/** Every host's retry rules for transient failures (see @quire/runtime redelivery). */
export function redeliveryPolicyOf(config: QuireConfig): RedeliveryPolicy {
  return {
    baseDelaySeconds: config.QUIRE_RETRY_BASE_DELAY_SECONDS,
    maxDelaySeconds: config.QUIRE_RETRY_MAX_DELAY_SECONDS,
    maxAgeSeconds: config.QUIRE_RETRY_MAX_AGE_SECONDS,
  };
}

/** Everything a stage handler needs, built from config and clients (identical in Lambda and locally). */
export function stageDependencies(config: QuireConfig, clients: AwsClients, service: ServiceName): StageDependencies {
  const governor = governorFor(config, clients);
  if (governor) reportGovernor(config, clients, governor, service);
  const metrics = metricsFor(service);
  const jobs = createJobStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME });
  const events = createEventPublisher({ client: clients.events, busName: config.QUIRE_BUS_EVENTS_NAME, service });
  return {
    jobs,
    events,
    s3: clients.s3,
    bedrock: createBedrockStageClient({
      client: clients.bedrock,
      modelId: config.QUIRE_MODEL_ID,
      taxonomy: config.QUIRE_TAXONOMY,
      ...(governor ? { governor } : {}),
      ...(config.QUIRE_BEDROCK_RETRIES === "sdk" ? { sdkRetries: true } : {}),
      onConverse: (request) => metrics.modelRequest(request),
    }),
    lifecycle: createJobLifecycle({ jobs, events, metrics, prices: loadPriceTable(config.QUIRE_BEDROCK_PRICES) }),
    computationLeaseMs: config.QUIRE_COMPUTATION_LEASE_MS,
    runBudget: createRunBudget(jobs),
  };
}

/**
 * The batcher, built from config and clients (identical in Lambda and locally). Its records ask with
 * the on-demand stages' prompt versions, so the answers land under the cache keys they look up.
 */
export function createBatcherFor(config: QuireConfig, clients: AwsClients) {
  if (!config.QUIRE_BATCH_ROLE_ARN) {
    throw new Error("the batcher needs QUIRE_BATCH_ROLE_ARN: the service role Bedrock assumes for batch jobs");
  }
  const stageClient = createBedrockStageClient({
    client: clients.bedrock,
    modelId: config.QUIRE_MODEL_ID,
    taxonomy: config.QUIRE_TAXONOMY,
  });
  const publisher = new DocumentPublisher(clients.sns, config.QUIRE_TOPIC_DOCUMENTS_ARN);
  const runner = createBatchRunner({
    bedrock: clients.bedrockJobs,
    s3: clients.s3,
    jobs: createJobStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME }),
    loadText: (document) => loadDocumentText(clients.s3, document),
    publish: (messages) => publisher.publishBatch(messages),
    bucket: config.QUIRE_BUCKET_DOCUMENTS_NAME,
    roleArn: config.QUIRE_BATCH_ROLE_ARN,
    modelId: config.QUIRE_MODEL_ID,
    taxonomy: config.QUIRE_TAXONOMY,
    promptVersions: {
      summary: stageClient.summaryPromptVersion,
      classification: stageClient.classificationPromptVersion,
    },
  });
  return createBatcher({
    runner,
    sqs: clients.sqs,
    queueUrl: queueOf(config, "batcher").queueUrl,
    pollSeconds: config.QUIRE_BATCH_POLL_SECONDS,
  });
}

/** A queue's URL and its DLQ's from config: `notifierDeliveries` → QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL. */
/**
 * The API keys both HTTP APIs accept: the shared key store, and QUIRE_API_KEY as the bootstrap
 * key holding every scope. Keys created without limits get the QUIRE_KEY_* defaults.
 */
export function apiKeysOf(config: QuireConfig, clients: AwsClients, bootstrapKey: string | undefined): ApiKeys {
  const keysLog = createLogger({ component: "api-keys" });
  return createApiKeys({
    client: clients.dynamodb,
    tableName: config.QUIRE_TABLE_API_KEYS_NAME,
    ...(bootstrapKey ? { bootstrapKey } : {}),
    defaultLimits: {
      requestsPerSecond: config.QUIRE_KEY_REQUESTS_PER_SECOND,
      burst: config.QUIRE_KEY_BURST,
      concurrentWaits: config.QUIRE_KEY_CONCURRENT_WAITS,
    },
    onTouchError: (error, keyId) => keysLog.warn("could not record a key's use", { keyId, error }),
  });
}

export function queueOf(config: QuireConfig, queue: QueueName) {
  const [queueKey, deadLetterKey] = [resourceEnvironmentKey("QUEUE", queue), resourceEnvironmentKey("DLQ", queue)];
  const values = config as unknown as Record<string, string | undefined>;
  const [queueUrl, deadLetterQueueUrl] = [values[queueKey], values[deadLetterKey]];
  if (!queueUrl || !deadLetterQueueUrl) throw new Error(`config has no ${queueKey} / ${deadLetterKey}`);
  return { queueUrl, deadLetterQueueUrl };
}

/** The Lambda host for a service's consumer: SQS batch in, partial batch failures out; metrics flushed per batch. */
export function lambdaHandlerFor<T>(consumer: Consumer<T>, config: QuireConfig, clients: AwsClients, queue: QueueName) {
  const { queueUrl, deadLetterQueueUrl } = queueOf(config, queue);
  const handler = createLambdaHandler(consumer, {
    queueUrl,
    deadLetterQueueUrl,
    maxReceiveCount: topology.queues[queue].maxReceiveCount,
    redelivery: redeliveryPolicyOf(config),
    sqs: clients.sqs,
  });
  return withMetricsFlush(topology.queues[queue].consumer, handler);
}

/**
 * Flush the service's metrics when an invocation ends, so each EMF line lands in the
 * invocation's log stream (what CloudWatch turns into metrics). Used for the HTTP handlers too.
 */
export function withMetricsFlush<E, C, R>(service: string, handler: (event: E, context: C) => Promise<R>) {
  const metrics = metricsFor(service);
  return async (event: E, context: C): Promise<R> => {
    try {
      return await handler(event, context);
    } finally {
      metrics.flush();
    }
  };
}

/** A long-lived process flushes its metrics once a minute (CloudWatch's standard resolution). */
const LOCAL_METRICS_FLUSH_MS = 60_000;

/** A consumer and the queue it reads, for {@link runLocally}. */
export interface LocalConsumer {
  // biome-ignore lint/suspicious/noExplicitAny: each consumer has its own message type, and the runner only passes messages through.
  consumer: Consumer<any>;
  queue: QueueName;
  /** Backpressure for this queue's runner (see {@link governedAdmission}). */
  admission?: RunnerAdmission;
}

/**
 * The local host: long-poll each consumer's queue until SIGINT/SIGTERM, then stop every runner
 * gracefully (finish or release in-flight messages) and `onStop` (an HTTP server) before exiting.
 */
export function runLocally(
  config: QuireConfig,
  clients: AwsClients,
  consumers: readonly LocalConsumer[],
  options: { onStop?: () => unknown } = {},
) {
  const service = topology.queues[consumers[0]!.queue].consumer;
  const log = createLogger({ service });
  const metrics = metricsFor(service);
  const flushMetrics = setInterval(() => metrics.flush(), LOCAL_METRICS_FLUSH_MS);
  flushMetrics.unref();
  const runners = consumers.map(({ consumer, queue, admission }) => {
    const queueLog = consumers.length > 1 ? log.child({ queue }) : log;
    const runner = startLocalRunner(consumer, {
      sqs: clients.sqs,
      ...queueOf(config, queue),
      concurrency: config.QUIRE_WORKER_CONCURRENCY,
      redelivery: redeliveryPolicyOf(config),
      log: queueLog,
      ...(admission ? { admission } : {}),
    });
    queueLog.info("consuming", {
      queue: queueOf(config, queue).queueUrl,
      concurrency: config.QUIRE_WORKER_CONCURRENCY,
    });
    return runner;
  });
  const health = config.QUIRE_HEALTH_PORT
    ? serveHealth(
        config.QUIRE_HEALTH_PORT,
        service,
        consumers.map(({ queue }, i) => ({ queue, runner: runners[i]! })),
        log,
      )
    : undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info("stopping: finishing or releasing in-flight messages");
    void Promise.all([
      ...runners.map((runner) => runner.stop()),
      options.onStop?.(),
      // Leave the quota: the other members re-balance at their next refresh.
      processMembership?.stop(),
      // And take this process's governor report away: the throughput view shows live processes.
      governorReporting?.stop(),
    ]).then(() => {
      health?.close();
      clearInterval(flushMetrics);
      const cpu = process.cpuUsage();
      metrics.flush();
      // One line a benchmark (or a curious operator) can read: what this process did and its peak memory.
      log.info("stopped", {
        runners: consumers.map(({ queue }, i) => ({ queue, ...runners[i]!.stats })),
        governor: governorFor(config)?.stats(),
        peakRssBytes: peakRssBytes(),
        // CPU this process spent (user + system): divided by the messages it handled, a hop's cost.
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      });
      process.exit(0);
    });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return runners;
}

/**
 * The health answer of a local process, for whoever watches it (a chaos run, a supervisor): on
 * 127.0.0.1:`port`, `GET /health` is 200 `{ status: "ok", service, pid, runners: [{ queue,
 * state, ...stats }] }` while every runner is polling, and 503 with the same body while one is
 * starting (reading its queue) or the process is stopping. A runner whose receives fail (devcloud
 * down) still polls, with backoff: it answers 200 and shows the streak in `receiveFailures`.
 */
export function serveHealth(
  port: number,
  service: string,
  runners: { queue: string; runner: LocalRunner }[],
  log: Logger,
): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || (path !== "/health" && path !== "/")) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { code: "NOT_FOUND", message: "GET /health" } }));
      return;
    }
    const states = runners.map(({ queue, runner }) => ({ queue, state: runner.state, ...runner.stats }));
    const ok = states.every((r) => r.state === "polling");
    const status = ok
      ? "ok"
      : states.some((r) => r.state === "stopping" || r.state === "stopped")
        ? "stopping"
        : "starting";
    res.writeHead(ok ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(
      JSON.stringify({
        status,
        service,
        pid: process.pid,
        uptimeSeconds: Math.round(process.uptime()),
        runners: states,
      }),
    );
  });
  server.on("error", (error) => log.error("health endpoint failed", { port, error }));
  server.listen(port, "127.0.0.1", () =>
    log.info("health endpoint listening", { url: `http://127.0.0.1:${port}/health` }),
  );
  // Never what keeps the process alive.
  server.unref();
  return server;
}

/**
 * A stage (summarizer, classifier) run locally: one consumer on each of its queues. The bulk
 * queue receives only what the governor can start now; the interactive queue (sync-mode
 * requests) receives at once, and its messages wait at the head of the governor's interactive
 * lane — ahead of bulk, which still gets one grant in every few.
 */
export function runStageLocally<T>(
  config: QuireConfig,
  clients: AwsClients,
  service: "summarizer" | "classifier",
  consumer: Consumer<T>,
) {
  const admission = governedAdmission(config, clients);
  const consumers = topology.services[service].consumers.map(
    (declared): LocalConsumer => ({
      consumer,
      queue: declared.queue,
      ...(admission && !("lane" in declared && declared.lane === "interactive") ? { admission } : {}),
    }),
  );
  return runLocally(config, clients, consumers);
}

/**
 * Backpressure from the governor to the queue: a stage's runner receives only as many messages as
 * the model can start now, so no message burns visibility time waiting for a Bedrock slot.
 */
export function governedAdmission(config: QuireConfig, clients?: AwsClients): RunnerAdmission | undefined {
  const governor = governorFor(config, clients);
  if (!governor) return undefined;
  return {
    free: () => governor.freeCapacity(config.QUIRE_MODEL_ID),
    taken: (count) => governor.reserve(config.QUIRE_MODEL_ID, count),
    wait: (signal) => governor.waitForChange(config.QUIRE_MODEL_ID, signal),
  };
}

/**
 * This process's peak resident memory. Linux's VmHWM belongs to the address space the process
 * got at exec; getrusage's maxRSS would also carry the parent's peak across the fork.
 */
function peakRssBytes(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
