// `npm start`: devcloud and every service as local processes, logs prefixed and readable.
// `npm run dev` (`--dev`): the same, with every service under `node --watch` (restarts when its
// source changes) and `--inspect` on its own port, so a debugger attached there stops a real message.
// Ctrl-C stops them all (services first, so in-flight messages are finished or released).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { LOCAL_SERVICE_NODE_FLAGS } from "@quire/config";
import { startConsoleServer } from "@quire/console";
import { topology, type DeployedServiceName } from "@quire/topology";
import {
  devcloudEndpoint as endpoint,
  devcloudEnvironment,
  devcloudPort as port,
  apiPort,
  consolePort,
  notifierPort,
  root,
  serviceEnvironment,
  webhookAllowlist,
} from "./local-env.ts";

/** Every service the topology declares, in its order; devcloud first. */
const SERVICES = Object.keys(topology.services) as DeployedServiceName[];
type Name = DeployedServiceName | "devcloud";
const PALETTE = [36, 35, 33, 32, 34, 31];
const colourOf = (name: Name) => (name === "devcloud" ? 90 : PALETTE[SERVICES.indexOf(name) % PALETTE.length]!);
const devMode = process.argv.includes("--dev");
/**
 * Inspector ports in `--dev`: 9230 ingestion, 9231 summarizer, 9232 classifier, 9233 notifier (9229 stays free for your
 * own).
 */
const inspectBase = Number(process.env.QUIRE_INSPECT_PORT ?? 9230);
const inspectPort = (service: (typeof SERVICES)[number]) => inspectBase + SERVICES.indexOf(service);

/** JSON log lines become `level message key=value…`; anything else passes through. */
function readable(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const {
      level,
      msg,
      message,
      time: _time,
      service: _service,
      ...fields
    } = JSON.parse(line) as Record<string, unknown>;
    const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    return [String(level ?? "info").padEnd(5), msg ?? message, ...rest].join(" ");
  } catch {
    return line;
  }
}

const children: { name: Name; child: ChildProcess }[] = [];
function launch(name: Name, script: string, env: NodeJS.ProcessEnv, nodeFlags: string[] = []) {
  const child = spawn(process.execPath, [...nodeFlags, script], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = `\x1b[${colourOf(name)}m${name.padEnd(10)}\x1b[0m│ `;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      process.stdout.write(`${prefix}${readable(line)}\n`);
      if (name !== "devcloud") noteReadiness(name, line);
    });
  }
  child.on("exit", (code, signal) => {
    if (!stopping) {
      const when = name !== "devcloud" && !ready.has(name) ? "before it was ready (the lines above say why)" : "";
      console.error(`${prefix}exited ${when} (${signal ?? code}); stopping everything.`);
      void stopAll(1);
    }
  });
  children.push({ name, child });
  return child;
}

/**
 * A service is ready once each of its consumers logged "consuming" and its HTTP API (if the
 * topology gives it one) logged that it listens: only then does `npm start` say Quire runs.
 */
const ready = new Set<Name>();
const seen = new Map<Name, { consuming: number; listening: boolean }>();
let readinessChanged: () => void = () => {};
function noteReadiness(name: DeployedServiceName, line: string) {
  const state = seen.get(name) ?? { consuming: 0, listening: false };
  if (line.includes('"msg":"consuming"')) state.consuming++;
  if (/"msg":"[^"]*listening"/.test(line)) state.listening = true;
  seen.set(name, state);
  const service = topology.services[name];
  if (state.consuming >= service.consumers.length && (!("api" in service) || state.listening) && !ready.has(name)) {
    ready.add(name);
    readinessChanged();
  }
}
async function waitForServices(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (SERVICES.some((service) => !ready.has(service))) {
    if (Date.now() > deadline) {
      const waiting = SERVICES.filter((service) => !ready.has(service));
      throw new Error(`${waiting.join(", ")} did not report ready within ${timeoutMs / 1000}s`);
    }
    await new Promise<void>((resolve) => {
      readinessChanged = resolve;
      setTimeout(resolve, 500);
    });
  }
}

async function waitForHealth(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${endpoint}/_quire/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`devcloud did not become healthy at ${endpoint} within ${timeoutMs / 1000}s`);
}

let stopping = false;
async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  const stopInOrder = async (names: Name[]) =>
    Promise.all(
      children
        .filter((c) => names.includes(c.name) && c.child.exitCode === null)
        .map(
          (c) =>
            new Promise<void>((resolve) => {
              c.child.once("exit", () => resolve());
              c.child.kill("SIGTERM");
              setTimeout(() => c.child.kill("SIGKILL"), 15_000).unref();
            }),
        ),
    );
  await stopInOrder(SERVICES);
  await stopInOrder(["devcloud"]);
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

// Health answered before we launch means someone else's devcloud: its state is not ours to assume.
if (
  await fetch(`${endpoint}/_quire/health`).then(
    () => true,
    () => false,
  )
) {
  console.error(`Something already answers at ${endpoint}. Stop it (another npm start?) or set QUIRE_DEVCLOUD_PORT.`);
  process.exit(1);
}
launch("devcloud", "packages/devcloud/src/main.ts", { ...process.env, QUIRE_DEVCLOUD_PORT: String(port) });
await waitForHealth(30_000);
const serviceEnv = serviceEnvironment(await devcloudEnvironment(endpoint));
const apiKey = serviceEnv.QUIRE_API_KEY!;
for (const service of SERVICES) {
  // --watch-preserve-output: a restart must not clear the other services' lines from the terminal.
  const devFlags = ["--watch", "--watch-preserve-output", `--inspect=127.0.0.1:${inspectPort(service)}`];
  launch(service, `services/${service}/src/local.ts`, serviceEnv, [
    ...LOCAL_SERVICE_NODE_FLAGS,
    ...(devMode ? devFlags : []),
  ]);
}
try {
  await waitForServices(60_000);
} catch (error) {
  console.error(`\n  Quire did not start: ${(error as Error).message}. Stopping.\n`);
  await stopAll(1);
}
// The console: a static site in this process (the services stay their own processes).
const consoleServer = await startConsoleServer({
  ingestionApi: `http://127.0.0.1:${apiPort}`,
  notifierApi: `http://127.0.0.1:${notifierPort}`,
  devcloudEndpoint: endpoint,
  port: consolePort,
}).catch((error: Error) => {
  console.error(
    `\n  The console did not start (${error.message}); set QUIRE_CONSOLE_PORT if ${consolePort} is taken.\n`,
  );
  return undefined;
});
const debugging = devMode
  ? `
  Debug (npm run dev): each service restarts when its code changes; attach a debugger to
  ${SERVICES.map((s) => `${s} 127.0.0.1:${inspectPort(s)}`).join(", ")}
  (VS Code: "Attach to Node Process", or chrome://inspect), set a breakpoint in its handler.ts,
  and submit a document: the breakpoint stops a real message from devcloud's queue.
`
  : "";

console.log(`
  Quire is running.
  console   ${consoleServer ? `${consoleServer.url}   (open it in a browser; sign in with the key below)` : "not started (see above)"}
  API       http://127.0.0.1:${apiPort}   (x-api-key: ${apiKey})
  notifier  http://127.0.0.1:${notifierPort}   (same key; subscriptions and deliveries)
  devcloud  ${endpoint}   (emails land in ${endpoint}/_quire/outbox)
  webhooks  may reach ${webhookAllowlist} besides public addresses (local default; QUIRE_WEBHOOK_ALLOWLIST)

  Try:
  curl -s -X POST "http://127.0.0.1:${apiPort}/v1/documents?wait=20" \\
    -H "x-api-key: ${apiKey}" -H "content-type: application/json" \\
    --data @samples/lease-agreement.json

  Watch notifications arrive (another terminal):  npx quire listen
  Submit with progress:                            npx quire submit samples/*.json --run --wait

${debugging}
  Ctrl-C stops everything.
`);
