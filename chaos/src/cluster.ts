import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { LOCAL_SERVICE_NODE_FLAGS, loadConfig, type QuireConfig } from "@quire/config";
import { startDevcloud, type Devcloud, type DevcloudOptions } from "@quire/devcloud";
import { createAwsClients, type AwsClients } from "@quire/pipeline";
import { resourceEnvironmentKey, topology, type QueueName } from "@quire/topology";

export const API_KEY = "chaos-api-key-0123456789";
const repo = fileURLToPath(new URL("../../", import.meta.url));

/** The time scale and the settings that follow from it (as tests/e2e/test/transient-faults.test.ts scales them). */
export interface Scale {
  /** devcloud's model clock: 0.1 makes a model "minute" 6 s. */
  timeScale: number;
  /** The quota in model minutes, and the model's mean latency in model time. */
  modelRpm: number;
  modelLatencyMs: number;
  /** The work queues' visibility timeout (120 s in the topology), scaled. */
  visibilityTimeoutSeconds: number;
}

export interface ServiceProcess {
  /** e.g. `summarizer-1`, `ingestion`. */
  name: string;
  service: string;
  healthPort: number;
  child?: ChildProcess | undefined;
  /** Times started (1 + restarts). */
  starts: number;
}

/** A process the chaos ended (kill), and when it was gone: the ledger's evidence for a re-announcement. */
export interface ProcessDeath {
  name: string;
  service: string;
  signal: NodeJS.Signals;
  /** When the process exited (ms since the epoch): after a SIGTERM, once its grace ran out or it finished. */
  at: number;
}

export interface HealthAnswer {
  name: string;
  ok: boolean;
  status: number | "down";
  body?: unknown;
}

export interface Cluster {
  devcloud: Devcloud;
  /** The devcloud environment (stable across devcloud restarts: same port, same data dir). */
  env: Record<string, string>;
  config: QuireConfig;
  clients: AwsClients;
  api: string;
  /** The notifier's API (subscriptions, deliveries). */
  notifier: string;
  processes: ServiceProcess[];
  /** Every work queue of the topology: name → URL. */
  workQueues: Record<QueueName, string>;
  /** Every DLQ of the topology: name → URL. */
  deadLetterQueues: Record<QueueName, string>;
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Every process `kill` ended, in order. */
  deaths: ProcessDeath[];
  start(name: string): void;
  /** Stop devcloud, wait `downMs`, start it again on the same port and data dir. */
  restartDevcloud(downMs: number): Promise<void>;
  /** Every process's `GET /health` (QUIRE_HEALTH_PORT). */
  health(): Promise<HealthAnswer[]>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The real pipeline as separate processes, like `npm start` and bench/src/cluster.ts: devcloud in
 * this process (so a scenario can stop and restart it, and change the model and the faults), and
 * every service the topology declares as its own `services/<name>/src/local.ts` process, each
 * with a health endpoint. Model-calling stages run `workersPerStage` times.
 */
export async function startCluster(options: {
  dataDir: string;
  logDir: string;
  scale: Scale;
  bedrock: DevcloudOptions["bedrock"];
  workersPerStage: number;
  serviceEnv?: Record<string, string>;
}): Promise<Cluster> {
  const { scale } = options;
  const devcloudOptions = (port: number): DevcloudOptions => ({
    port,
    dataDir: options.dataDir,
    log: () => {},
    ...(options.bedrock ? { bedrock: options.bedrock } : {}),
  });
  let devcloud = await startDevcloud(devcloudOptions(0));
  const port = devcloud.port;
  const env = { ...devcloud.env };
  const config = loadConfig({ ...env, QUIRE_API_KEY: API_KEY });
  const clients = createAwsClients(env);
  const values = config as unknown as Record<string, string>;
  const queueNames = Object.keys(topology.queues) as QueueName[];
  const workQueues = Object.fromEntries(
    queueNames.map((q) => [q, values[resourceEnvironmentKey("QUEUE", q)]!]),
  ) as Record<QueueName, string>;
  const deadLetterQueues = Object.fromEntries(
    queueNames.map((q) => [q, values[resourceEnvironmentKey("DLQ", q)]!]),
  ) as Record<QueueName, string>;

  // What a SIGKILLed worker's messages wait before someone else gets them, scaled like the rest.
  // (Re-applied after a devcloud restart: provisioning sets the topology's values again.)
  const scaleVisibility = async () => {
    for (const url of Object.values(workQueues)) {
      await clients.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: { VisibilityTimeout: String(scale.visibilityTimeoutSeconds) },
        }),
      );
    }
  };
  await scaleVisibility();

  const [apiPort, notifierPort] = [await freePort(), await freePort()];
  const serviceEnv = {
    ...process.env,
    ...env,
    QUIRE_API_KEY: API_KEY,
    QUIRE_API_PORT: String(apiPort),
    QUIRE_NOTIFIER_PORT: String(notifierPort),
    QUIRE_LOG_LEVEL: "warn",
    POWERTOOLS_METRICS_DISABLED: "true",
    // The quota and latency as the workers know them, in real time.
    QUIRE_BEDROCK_RPM: String(Math.round(scale.modelRpm / scale.timeScale)),
    QUIRE_BEDROCK_LATENCY_MS: String(Math.round(scale.modelLatencyMs * scale.timeScale)),
    // The quota's window as devcloud counts it (a minute, scaled), and the quota members' heartbeats
    // (3 s, scaled): a pacer that believed in a real minute would wait ten model minutes to climb back.
    QUIRE_BEDROCK_QUOTA_WINDOW_MS: String(Math.round(60_000 * scale.timeScale)),
    QUIRE_QUOTA_SHARE_REFRESH_MS: String(Math.max(100, Math.round(3000 * scale.timeScale))),
    // 2 s … 5 min between deliveries, scaled; the circuit probes after 0.5 s … 6 s.
    QUIRE_RETRY_BASE_DELAY_SECONDS: "1",
    QUIRE_RETRY_MAX_DELAY_SECONDS: "5",
    QUIRE_BEDROCK_CIRCUIT_OPEN_MS: "500",
    QUIRE_BEDROCK_CIRCUIT_MAX_OPEN_MS: "6000",
    // A killed worker's computation claim lapses after 3 min, scaled.
    QUIRE_COMPUTATION_LEASE_MS: String(Math.round(180_000 * scale.timeScale)),
    ...options.serviceEnv,
  };

  mkdirSync(options.logDir, { recursive: true });
  const processes: ServiceProcess[] = [];
  for (const [service, declaration] of Object.entries(topology.services)) {
    const stage = "bedrock" in declaration.uses && declaration.uses.bedrock;
    const count = stage ? options.workersPerStage : 1;
    for (let i = 1; i <= count; i++)
      processes.push({ name: stage ? `${service}-${i}` : service, service, healthPort: await freePort(), starts: 0 });
  }
  const logs = new Map<string, WriteStream>();
  const logOf = (name: string) => {
    let stream = logs.get(name);
    if (!stream) {
      stream = createWriteStream(join(options.logDir, `${name}.log`), { flags: "a" });
      logs.set(name, stream);
    }
    return stream;
  };

  const byName = (name: string) => {
    const found = processes.find((p) => p.name === name);
    if (!found) throw new Error(`no process ${name}; there are ${processes.map((p) => p.name).join(", ")}`);
    return found;
  };
  const start = (name: string) => {
    const entry = byName(name);
    if (entry.child && entry.child.exitCode === null && entry.child.signalCode === null)
      throw new Error(`${name} is already running`);
    const child = spawn(
      process.execPath,
      [...LOCAL_SERVICE_NODE_FLAGS, `${repo}services/${entry.service}/src/local.ts`],
      {
        cwd: repo,
        env: { ...serviceEnv, QUIRE_HEALTH_PORT: String(entry.healthPort) },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const log = logOf(name);
    log.write(`--- start ${++entry.starts} (pid ${child.pid}) ${new Date().toISOString()}\n`);
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    entry.child = child;
  };
  const deaths: ProcessDeath[] = [];
  const kill = (name: string, signal: NodeJS.Signals = "SIGTERM") => {
    const { child, service } = byName(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      child.once("exit", () => {
        deaths.push({ name, service, signal, at: Date.now() });
        resolve();
      });
      child.kill(signal);
      setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
    });
  };
  const health = () =>
    Promise.all(
      processes.map(async ({ name, healthPort }): Promise<HealthAnswer> => {
        try {
          const response = await fetch(`http://127.0.0.1:${healthPort}/health`, { signal: AbortSignal.timeout(2000) });
          return { name, ok: response.status === 200, status: response.status, body: await response.json() };
        } catch {
          return { name, ok: false, status: "down" };
        }
      }),
    );

  for (const { name } of processes) start(name);
  const api = `http://127.0.0.1:${apiPort}`;
  // Up when the API answers and every process's health says its runners poll.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const apiUp = await fetch(`${api}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (apiUp && (await health()).every((h) => h.ok)) break;
    if (Date.now() > deadline)
      throw new Error(`the services did not all report healthy within 60 s (logs in ${options.logDir})`);
    await sleep(200);
  }

  return {
    get devcloud() {
      return devcloud;
    },
    env,
    config,
    clients,
    api,
    notifier: `http://127.0.0.1:${notifierPort}`,
    processes,
    workQueues,
    deadLetterQueues,
    kill,
    deaths,
    start,
    async restartDevcloud(downMs) {
      await devcloud.stop();
      await sleep(downMs);
      devcloud = await startDevcloud(devcloudOptions(port));
      await scaleVisibility();
    },
    health,
    async stop() {
      await Promise.all(processes.map(({ name }) => kill(name, "SIGTERM")));
      await devcloud.stop();
      for (const stream of logs.values()) stream.end();
    },
  };
}

/** Visible + in-flight messages of one queue. */
export async function queueDepth(cluster: Cluster, url: string): Promise<number> {
  const { Attributes } = await cluster.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}
