// `npm run devcloud`: the local cloud as a long-running process, for `npm start`, the AWS CLI
// and anything else that speaks AWS.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { bedrockOptionsFromEnv } from "./bedrock/index.ts";
import { DEVCLOUD_OPTIONS } from "./cli-options.ts";
import { DEFAULT_DEVCLOUD_PORT, startDevcloud, type Devcloud } from "./devcloud.ts";
import { faultsFromEnv, readFaultConfig, type FaultConfigInput } from "./faults/index.ts";

const { values: flags } = parseArgs({ options: DEVCLOUD_OPTIONS });

if (flags.help) {
  console.log(`Usage: npm run devcloud -- [--port 4566] [--host 127.0.0.1] [--data-dir .quire/devcloud] [--memory] [--faults faults.json]

  --port       edge port (env QUIRE_DEVCLOUD_PORT, default ${DEFAULT_DEVCLOUD_PORT})
  --host       address the edge listens on (env QUIRE_DEVCLOUD_HOST, default 127.0.0.1). devcloud has no
               real authentication (any credentials sign a request): another address lets whoever
               reaches it read and write your local queues, tables and buckets
  --allow-host more names requests may address devcloud by, comma-separated (env QUIRE_DEVCLOUD_ALLOWED_HOSTS);
               besides loopback names and --host, others are refused (DNS rebinding)
  --data-dir   where state persists across restarts (env QUIRE_DATA_DIR, default <repo>/.quire/devcloud)
  --memory     keep nothing on disk
  --faults     fault injection config, a JSON file (env QUIRE_DEVCLOUD_FAULTS: a path or inline JSON);
               change it while running with PUT/GET/DELETE /_quire/faults
Bedrock emulator settings: env QUIRE_BEDROCK_CONFIG (inline JSON or a path to a JSON file).`);
  process.exit(0);
}

// npm runs workspace scripts inside the workspace; INIT_CWD is where the user typed the command.
const repoRoot = new URL("../../../", import.meta.url).pathname;
const port = Number(flags.port ?? process.env.QUIRE_DEVCLOUD_PORT ?? DEFAULT_DEVCLOUD_PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`devcloud: port must be an integer 0-65535, got ${flags.port ?? process.env.QUIRE_DEVCLOUD_PORT}`);
  process.exit(2);
}
const dataDir = flags.memory
  ? undefined
  : resolve(
      process.env.INIT_CWD ?? repoRoot,
      flags["data-dir"] ?? process.env.QUIRE_DATA_DIR ?? resolve(repoRoot, ".quire/devcloud"),
    );

const host = flags.host ?? process.env.QUIRE_DEVCLOUD_HOST ?? "127.0.0.1";
const allowedHosts = (flags["allow-host"] ?? process.env.QUIRE_DEVCLOUD_ALLOWED_HOSTS ?? "")
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean);

let faults: FaultConfigInput | undefined;
try {
  faults = flags.faults
    ? readFaultConfig(resolve(process.env.INIT_CWD ?? process.cwd(), flags.faults), "--faults")
    : faultsFromEnv(process.env);
} catch (error) {
  console.error(`devcloud: ${(error as Error).message}`);
  process.exit(2);
}

let devcloud: Devcloud;
try {
  devcloud = await startDevcloud({
    port,
    host,
    allowedHosts,
    dataDir,
    bedrock: bedrockOptionsFromEnv(process.env),
    faults,
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === "EADDRINUSE"
      ? `devcloud: port ${port} is in use. Is devcloud already running? Try --port or QUIRE_DEVCLOUD_PORT.`
      : `devcloud: failed to start: ${(error as Error).stack}`,
  );
  process.exit(1);
}

if (!["127.0.0.1", "::1", "localhost"].includes(host)) {
  console.warn(
    `devcloud: listening on ${host}, not only on loopback: anyone who reaches ${host}:${devcloud.port} can use it with any credentials.`,
  );
}
console.log(`devcloud is up at ${devcloud.endpoint} (${dataDir ? `state in ${dataDir}` : "in memory"})
Services: SNS, SQS, S3 (fauxqs) · DynamoDB (dynalite) · EventBridge · Bedrock runtime · SESv2 (outbox: ${devcloud.endpoint}/_quire/outbox) · KMS
Health: ${devcloud.endpoint}/_quire/health${faults ? `\nFault injection on: ${devcloud.endpoint}/_quire/faults` : ""}

Point the AWS SDK or CLI at it:
${Object.entries(devcloud.env)
  .map(([k, v]) => `export ${k}=${v}`)
  .join("\n")}

Then try:  aws --endpoint-url ${devcloud.endpoint} sqs list-queues
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log("devcloud: stopping…");
    devcloud.stop().then(() => process.exit(0));
  });
}
