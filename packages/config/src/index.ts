import { DEFAULT_MODEL_ID } from "@quire/contracts";
import { z } from "zod";
import { environmentFromLinks, sstLinks, type LinkedResources } from "./sst-links.ts";

export { environmentFromLinks, unlinked, type LinkedResources, SST_API_KEY_LINK, SST_EMAIL_LINK } from "./sst-links.ts";

/**
 * Every setting a Quire service reads, parsed once from the environment. Locally the values
 * are the env lines devcloud prints (`QUIRE_QUEUE_SUMMARIZER_URL`…); deployed, the same names
 * are set from the stack's outputs. Handlers receive the parsed object, never `process.env`.
 */
const resourceName = z.string().min(1);
const positiveInt = z.coerce.number().int().positive();

export const quireEnvironmentSchema = z.object({
  AWS_REGION: z.string().default("us-east-1"),
  QUIRE_TOPIC_DOCUMENTS_ARN: resourceName,
  QUIRE_QUEUE_INGESTION_URL: resourceName,
  QUIRE_QUEUE_SUMMARIZER_URL: resourceName,
  QUIRE_QUEUE_CLASSIFIER_URL: resourceName,
  QUIRE_QUEUE_NOTIFIER_URL: resourceName,
  QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL: resourceName,
  QUIRE_QUEUE_SUMMARIZER_INTERACTIVE_URL: resourceName,
  QUIRE_QUEUE_CLASSIFIER_INTERACTIVE_URL: resourceName,
  QUIRE_QUEUE_BATCHER_URL: resourceName,
  QUIRE_QUEUE_RUN_MANIFESTS_URL: resourceName,
  QUIRE_DLQ_INGESTION_URL: resourceName,
  QUIRE_DLQ_SUMMARIZER_URL: resourceName,
  QUIRE_DLQ_CLASSIFIER_URL: resourceName,
  QUIRE_DLQ_NOTIFIER_URL: resourceName,
  QUIRE_DLQ_NOTIFIER_DELIVERIES_URL: resourceName,
  QUIRE_DLQ_SUMMARIZER_INTERACTIVE_URL: resourceName,
  QUIRE_DLQ_CLASSIFIER_INTERACTIVE_URL: resourceName,
  QUIRE_DLQ_BATCHER_URL: resourceName,
  QUIRE_DLQ_RUN_MANIFESTS_URL: resourceName,
  QUIRE_BUS_EVENTS_NAME: resourceName,
  QUIRE_TABLE_JOBS_NAME: resourceName,
  QUIRE_TABLE_NOTIFICATIONS_NAME: resourceName,
  QUIRE_TABLE_API_KEYS_NAME: resourceName,
  QUIRE_BUCKET_DOCUMENTS_NAME: resourceName,
  /** The KMS key webhook signing secrets are encrypted under: its alias (`alias/quire-secrets` locally). */
  QUIRE_KEY_SECRETS_ID: resourceName,
  QUIRE_MODEL_ID: z.string().min(1).default(DEFAULT_MODEL_ID),
  QUIRE_TAXONOMY: z
    .string()
    .default("contract,court-filing,correspondence,invoice,policy,other")
    .transform((list) =>
      list
        .split(",")
        .map((label) => label.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(2, "QUIRE_TAXONOMY needs at least two labels")),
  QUIRE_API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  QUIRE_API_KEY: z.string().min(16, "QUIRE_API_KEY must be at least 16 characters").optional(),
  QUIRE_MAX_DOCUMENT_BYTES: positiveInt.default(10 * 1024 * 1024),
  /**
   * Largest POST /v1/runs body; a run is parsed whole, so this bounds one request's memory (about 4× it at the peak).
   */
  QUIRE_MAX_RUN_BODY_BYTES: positiveInt.default(64 * 1024 * 1024),
  /** Request bodies one API process holds at once, in all; a request that would pass it gets 429 BUSY. */
  QUIRE_MAX_INFLIGHT_BODY_BYTES: positiveInt.default(96 * 1024 * 1024),

  // API keys' default limits (a key created with its own keeps those)
  /** Each key's sustained request rate per API process, and the burst it may spend at once. */
  QUIRE_KEY_REQUESTS_PER_SECOND: z.coerce.number().positive().default(50),
  QUIRE_KEY_BURST: positiveInt.default(100),
  /** `?wait=` requests one key may hold at once per API process. */
  QUIRE_KEY_CONCURRENT_WAITS: z.coerce.number().int().nonnegative().default(10),
  /** Documents above this travel by claim check (S3 pointer), keeping SNS/SQS messages under 256 KiB with headroom. */
  QUIRE_CLAIM_CHECK_BYTES: positiveInt.default(200 * 1024),
  QUIRE_WORKER_CONCURRENCY: positiveInt.default(8),
  /**
   * The EventBridge sources allowed to submit documents on the bus (`Document Submitted`),
   * comma-separated: an explicit allow-list, empty by default (nobody). A submission from another
   * source is dead-lettered SOURCE_NOT_ALLOWED. `npm start` allows `acme.dms`, the README's example.
   */
  QUIRE_EXTERNAL_SOURCES: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((source) => source.trim())
        .filter(Boolean),
    ),
  /**
   * Origins whose pages may call the HTTP APIs from a browser (CORS), comma-separated: the
   * console's. Empty (the default): no cross-origin browser access. `npm start` sets the local
   * console's; SST sets the deployed console's.
   */
  QUIRE_CONSOLE_ORIGINS: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim().replace(/\/$/, ""))
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/, error: "QUIRE_CONSOLE_ORIGINS lists http(s) origins" }))),
  /**
   * A local process's health endpoint (`GET /health` on 127.0.0.1): 200 with its runners' stats
   * while every runner polls, 503 while starting or stopping. 0 (the default) serves none.
   */
  QUIRE_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(0),

  // Retries in the queue (every consumer): a transient failure waits, it never uses up a message's life
  /** First retry delay (s); doubles per delivery, jittered. */
  QUIRE_RETRY_BASE_DELAY_SECONDS: z.coerce.number().positive().max(900).default(2),
  /** Longest wait between deliveries (s); SQS caps a visibility timeout at 12 h. */
  QUIRE_RETRY_MAX_DELAY_SECONDS: z.coerce.number().positive().max(43_200).default(300),
  /**
   * How long a message may keep failing transiently (throttles, outages), counted from its first
   * send, before its job fails RETRY_BUDGET_EXHAUSTED. A run's deadline, when earlier, wins.
   * The stage queues' maxReceiveCount is sized for the default (see @quire/topology).
   */
  QUIRE_RETRY_MAX_AGE_SECONDS: positiveInt.max(4 * 24 * 60 * 60).default(6 * 60 * 60),
  /**
   * How long a stage's claim to compute a result holds: a duplicate delivery waits for the
   * holder's result this long, and a worker killed mid-call delays its job by at most this much.
   */
  QUIRE_COMPUTATION_LEASE_MS: positiveInt.default(3 * 60_000),

  // Bedrock admission (the governor)
  /**
   * `adaptive`: every Converse call waits for the quota buckets and the AIMD in-flight limit; `off`: calls go straight
   * out.
   */
  QUIRE_GOVERNOR: z.enum(["adaptive", "off"]).default("adaptive"),
  /**
   * How often each stage process writes its governor's figures (limit, in flight, throttles, share)
   * to the jobs table, where `GET /v1/throughput` and the console read them. 0: never.
   */
  QUIRE_GOVERNOR_REPORT_MS: z.coerce.number().int().nonnegative().default(5_000),
  /** The model's requests / tokens per minute as you know them (Service Quotas). Unset: AIMD alone finds the limit. */
  QUIRE_BEDROCK_RPM: positiveInt.optional(),
  QUIRE_BEDROCK_TPM: positiveInt.optional(),
  /**
   * What each model's tokens cost, as JSON over the defaults (@quire/bedrock pricing.ts, taken
   * from AWS's Bedrock pricing page): `{"<modelId>": {"inputPerMillion": 0.25, "outputPerMillion":
   * 1.25, "batchInputPerMillion": 0.125, "batchOutputPerMillion": 0.625}}`, US dollars per million tokens.
   */
  QUIRE_BEDROCK_PRICES: z.string().optional(),
  // Bedrock batch inference (POST /v1/runs with mode batch, or auto and a deadline that allows it)
  /**
   * The service role Bedrock assumes to read a batch's records and write its answers (the documents
   * bucket's `batch/` prefix). Deployed, infra creates it; `npm start` names devcloud's stand-in.
   * Unset: no run goes through batch inference (mode batch is refused, auto stays on demand).
   */
  QUIRE_BATCH_ROLE_ARN: z.preprocess(
    (value) => (value === "" ? undefined : value),
    z.string().min(20, "QUIRE_BATCH_ROLE_ARN is an IAM role ARN").optional(),
  ),
  /** How long the batcher waits between checks of a run's batch jobs (SQS DelaySeconds: at most 15 min). */
  QUIRE_BATCH_POLL_SECONDS: z.coerce.number().positive().max(900).default(60),
  /**
   * How long a batch job is expected to take, for planning: AWS gives no guarantee (a job may take
   * up to its timeout, 24 h by default) and says most finish well within a day. A run goes batch
   * (mode auto) only when this and the on-demand fallback of the whole run both fit its deadline.
   */
  QUIRE_BATCH_TURNAROUND_SECONDS: positiveInt.default(24 * 60 * 60),
  /** Mean Converse latency for planning (deadline feasibility, Lambda concurrency). */
  QUIRE_BEDROCK_LATENCY_MS: positiveInt.default(8000),
  /**
   * Who retries a failed Converse call: `quire` (our jittered policy; the SDK's retries off) or
   * `sdk` (the SDK's standard 3 attempts, as most samples do; the benchmark's baseline).
   */
  QUIRE_BEDROCK_RETRIES: z.enum(["quire", "sdk"]).default("quire"),
  /**
   * Where a process's adaptive in-flight limit starts. Unset: its share of what the quota
   * sustains (QUIRE_BEDROCK_RPM × latency, divided among the stages sharing the model), so a
   * restarted worker does not storm a quota the others already use; 4 without a quota.
   */
  QUIRE_GOVERNOR_INITIAL_LIMIT: positiveInt.optional(),
  /**
   * How processes (and Lambda containers) calling the model share its quota (with QUIRE_BEDROCK_RPM
   * or _TPM set): `dynamodb` — each registers in the jobs table with what it wants and paces at its
   * max-min fair share within the quota's window; one member learns whether the quota is really
   * what was configured and the others follow (the table unreachable: the last known share, then
   * the quota ÷ the stages sharing the model) — the default; `off` — each process paces at the
   * whole quota and AIMD finds its share through throttles. The full bench (10,000 documents, 400
   * RPM, 2 processes per stage) with sharing: efficiency 1.00, 0.14 % throttles per successful call,
   * peak in flight 1.22× the need; the quick one with AIMD alone: 1.18 throttles per call, 3.1× the
   * need (see README, "The quota as a shared resource").
   */
  QUIRE_QUOTA_SHARE: z.enum(["dynamodb", "off"]).default("dynamodb"),
  QUIRE_QUOTA_SHARE_REFRESH_MS: positiveInt.default(3000),
  /**
   * The window Bedrock counts the RPM quota over (a minute). A process sharing the quota keeps its
   * calls within its share of any such window, so a burst is paid back inside it instead of landing as
   * 429s. Only a time-scaled emulator (the bench) sets anything else.
   */
  QUIRE_BEDROCK_QUOTA_WINDOW_MS: positiveInt.default(60_000),
  /** Sharing the quota: the burst each process's buckets allow, in ms of their rate (one request at least). */
  QUIRE_GOVERNOR_BURST_MS: positiveInt.default(1000),
  /**
   * The model's circuit breaker: after a run of unavailable answers (5xx, ModelNotReady,
   * timeouts) workers stop receiving for this long, then one call probes; each failed probe
   * doubles the wait up to the maximum.
   */
  QUIRE_BEDROCK_CIRCUIT_OPEN_MS: positiveInt.default(5_000),
  QUIRE_BEDROCK_CIRCUIT_MAX_OPEN_MS: positiveInt.default(60_000),

  // The notifier
  QUIRE_NOTIFIER_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** Where people reach the notifier (email confirmation links) and the API (job links in emails). */
  QUIRE_NOTIFIER_PUBLIC_URL: z.url().default("http://127.0.0.1:3001"),
  QUIRE_API_PUBLIC_URL: z.url().default("http://127.0.0.1:3000"),
  /**
   * Hosts and CIDRs webhooks may reach although they are not public (loopback, private…). Empty: public addresses only.
   */
  QUIRE_WEBHOOK_ALLOWLIST: z.string().default(""),
  /** Delays between webhook attempts (Standard Webhooks' usual schedule); ms|s|m|h|d. */
  QUIRE_WEBHOOK_RETRY_SCHEDULE: z.string().default("5s,5m,30m,2h,5h,10h,10h"),
  QUIRE_WEBHOOK_TIMEOUT_MS: positiveInt.default(15_000),
  QUIRE_WEBHOOK_MAX_REDIRECTS: z.coerce.number().int().min(0).max(5).default(0),
  /** An endpoint failing without a single success for this long is disabled (it can be re-enabled). */
  QUIRE_WEBHOOK_DISABLE_AFTER: z.string().default("5d"),
  /** How long a rotated-out secret keeps signing alongside the new one. */
  QUIRE_WEBHOOK_SECRET_OVERLAP: z.string().default("24h"),
  /** Multiplies every notifier delay (retries, disable window): 0.001 makes hours into seconds for tests and demos. */
  QUIRE_NOTIFIER_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
  QUIRE_EMAIL_FROM: z.string().min(3).default("Quire <notifications@quire.localhost>"),
});

export type QuireConfig = z.infer<typeof quireEnvironmentSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parse the environment; a missing or malformed variable fails fast, naming every problem.
 * Deployed with SST, resources come from the function's links (see sst-links.ts); a variable
 * set explicitly still wins, so an operator can point one resource elsewhere.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, links: LinkedResources = sstLinks(env)): QuireConfig {
  const explicit = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
  const result = quireEnvironmentSchema.safeParse({ ...environmentFromLinks(links), ...explicit });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(
      `Quire configuration is incomplete:\n  ${problems.join("\n  ")}\nLocally, start devcloud (npm run devcloud) and use the env lines it prints; deployed, each function gets the variables of the resources it is granted (infra/src/permissions.ts, FUNCTION_ACCESS).`,
    );
  }
  return result.data;
}
export { LOCAL_SERVICE_NODE_FLAGS } from "./local-process.ts";
