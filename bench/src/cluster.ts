import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { LOCAL_SERVICE_NODE_FLAGS } from "@quire/config";
import { startDevcloud, type Devcloud, type DevcloudOptions } from "@quire/devcloud";
import { topology } from "@quire/topology";

export const MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0";
export const API_KEY = "bench-api-key-0123456789";
const repo = fileURLToPath(new URL("../../", import.meta.url));

export interface ProcessReport {
  name: string;
  peakRssBytes?: number;
  /** CPU the process spent over its life (user + system). */
  cpuMs?: number;
  runners?: {
    queue: string;
    received: number;
    succeeded: number;
    failed: number;
    deadLettered: number;
    handlerMs: number;
  }[];
  governor?: {
    limit: number;
    share?: number;
    scale?: number;
    granted: number;
    successes: number;
    throttles: number;
  }[];
}

export interface Cluster {
  devcloud: Devcloud;
  api: string;
  /** SIGTERM every service (they finish or release their messages and report), then devcloud. */
  stop(): Promise<ProcessReport[]>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The real pipeline as separate processes, like `npm start`: devcloud (in this process, so the
 * bench can read its Bedrock counters), one ingestion, `workersPerStage` summarizers and
 * classifiers, one notifier. Every service is the unchanged `services/<name>/src/local.ts`.
 */
export async function startCluster(options: {
  bedrock: DevcloudOptions["bedrock"];
  serviceEnv: Record<string, string>;
  workersPerStage: number;
}): Promise<Cluster> {
  const devcloud = await startDevcloud({
    port: 0,
    log: () => {},
    ...(options.bedrock ? { bedrock: options.bedrock } : {}),
  });
  const [apiPort, notifierPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    ...devcloud.env,
    QUIRE_API_KEY: API_KEY,
    QUIRE_API_PORT: String(apiPort),
    QUIRE_NOTIFIER_PORT: String(notifierPort),
    QUIRE_MODEL_ID: MODEL_ID,
    QUIRE_LOG_LEVEL: "warn",
    ...options.serviceEnv,
  };
  const children: { name: string; child: ChildProcess; report: ProcessReport }[] = [];
  const launch = (name: string, service: string) => {
    // "stopped" is logged at info: let only that line through by asking for info and filtering here.
    const child = spawn(process.execPath, [...LOCAL_SERVICE_NODE_FLAGS, `${repo}services/${service}/src/local.ts`], {
      cwd: repo,
      env: { ...env, QUIRE_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const report: ProcessReport = { name };
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.includes('"stopped"')) return;
      try {
        const parsed = JSON.parse(line) as ProcessReport;
        Object.assign(report, {
          peakRssBytes: parsed.peakRssBytes,
          cpuMs: parsed.cpuMs,
          runners: parsed.runners,
          governor: parsed.governor,
        });
      } catch {
        // not the report line
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => process.stderr.write(`  ${name}: ${line}\n`));
    children.push({ name, child, report });
  };
  // Every service the topology declares: the ones calling the model `workersPerStage` times, the rest once.
  for (const [service, declaration] of Object.entries(topology.services)) {
    const stage = "bedrock" in declaration.uses && declaration.uses.bedrock;
    if (!stage) launch(service, service);
    else for (let i = 1; i <= options.workersPerStage; i++) launch(`${service}-${i}`, service);
  }

  const api = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (
      await fetch(`${api}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error("the ingestion API did not come up within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  // Give the workers a moment to reach their first long poll.
  await new Promise((r) => setTimeout(r, 1000));

  return {
    devcloud,
    api,
    async stop() {
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
              setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
            }),
        ),
      );
      await devcloud.stop();
      return children.map((c) => c.report);
    },
  };
}
