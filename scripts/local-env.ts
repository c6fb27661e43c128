// What a local service process is given, whoever starts it (`npm start`, `npm run service`, the
// chaos program): devcloud's resource environment, the local API key, the ports, and the local
// defaults (webhooks may reach this machine; EMF metrics off).
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { LISTEN_PORTS } from "@quire/cli";

export const root = new URL("..", import.meta.url).pathname;
export const devcloudPort = Number(process.env.QUIRE_DEVCLOUD_PORT ?? 4566);
export const devcloudEndpoint = `http://127.0.0.1:${devcloudPort}`;
export const apiPort = Number(process.env.QUIRE_API_PORT ?? 3000);
export const notifierPort = Number(process.env.QUIRE_NOTIFIER_PORT ?? 3001);
export const consolePort = Number(process.env.QUIRE_CONSOLE_PORT ?? 3002);
/** The local console's origin, which the APIs let call them from a browser (CORS). */
export const consoleUrl = `http://127.0.0.1:${consolePort}`;
// Locally, webhooks may reach `quire listen` on this machine: loopback, on the ports it listens on
// (4700-4709), and nothing else here — not devcloud (whose SQS would take a webhook as a message and
// its answer would land in the delivery log), not the ingestion or notifier API, not the inspectors.
// Deployed, only public addresses are allowed unless QUIRE_WEBHOOK_ALLOWLIST says otherwise.
export const webhookAllowlist = process.env.QUIRE_WEBHOOK_ALLOWLIST ?? loopbackAllowlist(LISTEN_PORTS);

/** Loopback on `ports`, less any port moved into that range with QUIRE_*_PORT (devcloud, the APIs). */
export function loopbackAllowlist(ports: { first: number; last: number }): string {
  const taken = new Set([devcloudPort, apiPort, notifierPort]);
  const segments: string[] = [];
  for (let port = ports.first; port <= ports.last; port++) {
    if (taken.has(port)) continue;
    let last = port;
    while (last < ports.last && !taken.has(last + 1)) last++;
    segments.push(last === port ? `${port}` : `${port}-${last}`);
    port = last;
  }
  return ["localhost", "127.0.0.1", "[::1]"].flatMap((host) => segments.map((range) => `${host}:${range}`)).join(",");
}

/** A local API key that survives restarts, so scripts and the CLI keep working. */
export function localApiKey(): string {
  if (process.env.QUIRE_API_KEY) return process.env.QUIRE_API_KEY;
  const file = `${root}.quire/api-key`;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(`${root}.quire`, { recursive: true });
  const key = `qk_local_${randomBytes(16).toString("hex")}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** devcloud's resource variables (QUIRE_QUEUE_…_URL, …), read from a running devcloud. */
export async function devcloudEnvironment(endpoint = devcloudEndpoint): Promise<Record<string, string>> {
  let response: Response;
  try {
    response = await fetch(`${endpoint}/_quire/resources`);
  } catch {
    throw new Error(
      `devcloud does not answer at ${endpoint}: start it first (npm run devcloud, or npm start), or set QUIRE_DEVCLOUD_PORT.`,
    );
  }
  const { env } = (await response.json()) as { env?: Record<string, string> };
  if (!env) throw new Error(`devcloud at ${endpoint} answered without its resource environment`);
  return env;
}

/** The whole environment of one local service process. */
export function serviceEnvironment(cloudEnv: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...cloudEnv,
    QUIRE_API_KEY: localApiKey(),
    QUIRE_API_PORT: String(apiPort),
    QUIRE_NOTIFIER_PORT: String(notifierPort),
    QUIRE_API_PUBLIC_URL: process.env.QUIRE_API_PUBLIC_URL ?? `http://127.0.0.1:${apiPort}`,
    QUIRE_NOTIFIER_PUBLIC_URL: process.env.QUIRE_NOTIFIER_PUBLIC_URL ?? `http://127.0.0.1:${notifierPort}`,
    QUIRE_WEBHOOK_ALLOWLIST: webhookAllowlist,
    QUIRE_CONSOLE_ORIGINS: process.env.QUIRE_CONSOLE_ORIGINS ?? `${consoleUrl},http://localhost:${consolePort}`,
    // The README's example upstream system may submit on the bus locally; deployed, nobody unless listed.
    QUIRE_EXTERNAL_SOURCES: process.env.QUIRE_EXTERNAL_SOURCES ?? "acme.dms",
    // devcloud's batch jobs take a minute or two, not hours: check often, and plan with that.
    QUIRE_BATCH_POLL_SECONDS: process.env.QUIRE_BATCH_POLL_SECONDS ?? "5",
    QUIRE_BATCH_TURNAROUND_SECONDS: process.env.QUIRE_BATCH_TURNAROUND_SECONDS ?? "120",
    // EMF metric lines are for CloudWatch; locally they would drown the readable logs.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
  };
}
