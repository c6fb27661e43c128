import {
  DOCUMENT_SUBMITTED,
  eventCatalog,
  MESSAGE_TYPE_ATTRIBUTE,
  NOTIFIED_DETAIL_TYPES,
  PRIORITY_ATTRIBUTE,
  RUN_BATCH,
} from "@quire/contracts";
import type { QueueDeclaration, SubscriptionDeclaration, Topology } from "./types.ts";

const DAY = 24 * 60 * 60;

/**
 * Deliveries before SQS moves a message to its DLQ. Not what fails a job: transient failures
 * wait in the queue with growing delays (up to 5 minutes) until their age budget (6 h by
 * default) runs out, and the hosts give up then, with the reason (see @quire/runtime
 * redelivery.ts). This is the backstop for a message that crashes its worker every time, sized
 * so the backoff can use the whole budget first: `minimumMaxReceiveCount` of the default policy
 * is 189 (a spec in @quire/pipeline keeps the two in step).
 */
const MAX_RECEIVE_COUNT = 200;

/**
 * Work queues share these settings. The visibility timeout must outlast one handler run
 * (a Bedrock call with retries); the local runner and Lambda heartbeat past it for long ones.
 */
const workQueue = (consumer: string, overrides: Partial<QueueDeclaration> = {}): QueueDeclaration => ({
  consumer,
  visibilityTimeoutSeconds: 120,
  messageRetentionSeconds: 4 * DAY,
  receiveWaitTimeSeconds: 20,
  maxReceiveCount: MAX_RECEIVE_COUNT,
  dlq: { messageRetentionSeconds: 14 * DAY },
  ...overrides,
});

/** A stage queue's share of `document.submitted`: bulk runs, or sync-mode (interactive) requests. */
const stageSubscription = (queue: string, priority: "bulk" | "interactive"): SubscriptionDeclaration => ({
  topic: "documents",
  queue,
  rawMessageDelivery: true,
  filterPolicy: { [MESSAGE_TYPE_ATTRIBUTE]: [DOCUMENT_SUBMITTED], [PRIORITY_ATTRIBUTE]: [priority] },
  filterPolicyScope: "MessageAttributes",
});

/**
 * THE declaration of Quire's AWS resources. devcloud provisions from it, sst.config.ts renders
 * from it; there is no second list anywhere.
 */
export const topology = {
  app: "quire",
  topics: {
    documents: { description: `Fan-out of ${DOCUMENT_SUBMITTED} to every stage's queue.` },
  },
  queues: {
    ingestion: workQueue("ingestion", { visibilityTimeoutSeconds: 60 }),
    // A manifest run's chunks (ingestion to itself): each writes and publishes 500 documents' jobs.
    runManifests: workQueue("ingestion", { visibilityTimeoutSeconds: 180 }),
    summarizer: workQueue("summarizer"),
    classifier: workQueue("classifier"),
    // Sync-mode documents (someone waits on `?wait=`) get queues of their own: SQS has no
    // priorities, and behind a 10,000-document run in one queue a sync request would wait hours.
    // The stage takes from both; the Bedrock governor serves this lane first.
    summarizerInteractive: workQueue("summarizer"),
    classifierInteractive: workQueue("classifier"),
    notifier: workQueue("notifier", { visibilityTimeoutSeconds: 60 }),
    // The notifier's own: one message per (event, subscription) attempt. Retries are re-enqueued
    // with DelaySeconds (chained past SQS's 15-minute cap), so a slow or dead endpoint never holds
    // a handler. Visibility outlasts one attempt (15 s timeout) with room for the log writes.
    notifierDeliveries: workQueue("notifier", { visibilityTimeoutSeconds: 60, receiveWaitTimeSeconds: 20 }),
    // Runs computed through Bedrock batch inference: `run.batch` from ingestion, and the batcher's
    // own delayed checks. A submit writes a run's records, and the check that finds its jobs ended
    // reads its answers into the result cache (100,000 documents: 200,000 writes) and publishes
    // the run: minutes, so the longest a Lambda function may run, within the visibility timeout.
    batcher: workQueue("batcher", { visibilityTimeoutSeconds: 960 }),
  },
  subscriptions: {
    summarizerDocuments: stageSubscription("summarizer", "bulk"),
    classifierDocuments: stageSubscription("classifier", "bulk"),
    summarizerInteractiveDocuments: stageSubscription("summarizerInteractive", "interactive"),
    classifierInteractiveDocuments: stageSubscription("classifierInteractive", "interactive"),
    batcherRuns: {
      topic: "documents",
      queue: "batcher",
      rawMessageDelivery: true,
      filterPolicy: { [MESSAGE_TYPE_ATTRIBUTE]: [RUN_BATCH] },
      filterPolicyScope: "MessageAttributes",
    },
  },
  buses: {
    events: { description: "Quire's completion events: quire.<service> sources." },
  },
  rules: {
    notifierJobEvents: {
      bus: "events",
      description: "Job and run outcomes to the notifier's queue.",
      // Exactly the sources the event catalogue declares for these events, not any `quire.*`:
      // a PutEvents from `quire.attacker` matches nothing (and the notifier checks the job store).
      pattern: {
        source: [...new Set(NOTIFIED_DETAIL_TYPES.flatMap((detailType) => eventCatalog[detailType].sources))].sort(),
        detailType: [...NOTIFIED_DETAIL_TYPES],
      },
      targetQueue: "notifier",
    },
    ingestionExternalSubmissions: {
      bus: "events",
      description: "Upstream systems may put Document Submitted (any source) instead of calling the API.",
      pattern: { detailType: ["Document Submitted"] },
      targetQueue: "ingestion",
    },
  },
  tables: {
    jobs: {
      description: "Jobs, runs, stage results and idempotency records (single-table, pk/sk).",
      fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
      primaryIndex: { hashKey: "pk", rangeKey: "sk" },
      globalIndexes: { byRun: { hashKey: "gsi1pk", rangeKey: "gsi1sk" } },
      ttl: "expiresAt",
    },
    notifications: {
      description: "Notification subscriptions, deliveries and their log.",
      fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
      primaryIndex: { hashKey: "pk", rangeKey: "sk" },
      // A subscription's deliveries, newest first, for the delivery log and replay-since.
      globalIndexes: { bySubscription: { hashKey: "gsi1pk", rangeKey: "gsi1sk" } },
      ttl: "expiresAt",
    },
    apiKeys: {
      description: "API keys of both HTTP APIs: each key's hash (never the key), name, scopes, limits and use times.",
      fields: { pk: "string", sk: "string" },
      primaryIndex: { hashKey: "pk", rangeKey: "sk" },
      ttl: "expiresAt",
    },
  },
  buckets: {
    documents: { description: "Claim-check storage for documents too large for a message." },
  },
  keys: {
    secrets: { description: "Encrypts webhook signing secrets at rest." },
  },
  services: {
    ingestion: {
      api: { handler: "src/lambda.api", timeoutSeconds: 30, memoryMb: 512, publicUrlVariable: "QUIRE_API_PUBLIC_URL" },
      consumers: [
        {
          queue: "ingestion",
          handler: "src/lambda.queue",
          timeoutSeconds: 30,
          memoryMb: 512,
          batchSize: 10,
          maximumConcurrency: 10,
        },
        // One chunk per invocation; the chunks of one run follow each other, runs go side by side.
        {
          queue: "runManifests",
          handler: "src/lambda.manifests",
          timeoutSeconds: 150,
          memoryMb: 512,
          batchSize: 1,
          maximumConcurrency: 4,
        },
      ],
      // Publishes document.submitted, stores jobs and claim checks, fails jobs it cannot publish;
      // its API shows every queue's dead letters and redrives them.
      uses: {
        topics: ["documents"],
        queues: ["runManifests"],
        tables: ["jobs", "apiKeys"],
        buckets: ["documents"],
        buses: ["events"],
        apiKey: true,
        deadLetters: true,
      },
    },
    summarizer: {
      // One message per invocation: each invocation holds one Converse call, so the event source's
      // maximum concurrency is the number of calls in flight (derived from the quota).
      consumers: [
        {
          queue: "summarizer",
          handler: "src/lambda.handler",
          timeoutSeconds: 90,
          memoryMb: 1024,
          batchSize: 1,
          maximumConcurrency: "bedrock-quota",
        },
        // Sync requests run beside the bulk backlog, never behind it (a few, within the quota's 20% headroom).
        {
          queue: "summarizerInteractive",
          handler: "src/lambda.interactive",
          timeoutSeconds: 90,
          memoryMb: 1024,
          batchSize: 1,
          maximumConcurrency: 5,
          lane: "interactive",
        },
      ],
      uses: { tables: ["jobs"], buckets: ["documents"], buses: ["events"], bedrock: true },
    },
    classifier: {
      consumers: [
        {
          queue: "classifier",
          handler: "src/lambda.handler",
          timeoutSeconds: 90,
          memoryMb: 1024,
          batchSize: 1,
          maximumConcurrency: "bedrock-quota",
        },
        {
          queue: "classifierInteractive",
          handler: "src/lambda.interactive",
          timeoutSeconds: 90,
          memoryMb: 1024,
          batchSize: 1,
          maximumConcurrency: 5,
          lane: "interactive",
        },
      ],
      uses: { tables: ["jobs"], buckets: ["documents"], buses: ["events"], bedrock: true },
    },
    notifier: {
      api: {
        handler: "src/lambda.api",
        timeoutSeconds: 30,
        memoryMb: 512,
        publicUrlVariable: "QUIRE_NOTIFIER_PUBLIC_URL",
      },
      // `quire listen` beside `sst dev`: a local receiver that subscribes itself and prints verified deliveries.
      dev: {
        command: "npx quire listen",
        title: "quire listen",
        apiUrlVariable: "QUIRE_NOTIFIER_URL",
        // Loopback only on the ports `quire listen` takes (4700–4709): not the laptop's other services.
        webhookAllowlist: "localhost:4700-4709,127.0.0.1:4700-4709,[::1]:4700-4709",
      },
      consumers: [
        {
          queue: "notifier",
          handler: "src/lambda.handler",
          timeoutSeconds: 45,
          memoryMb: 512,
          batchSize: 10,
          batchWindowSeconds: 1,
          maximumConcurrency: 10,
        },
        // One attempt (15 s timeout) per message, five at a time per invocation.
        {
          queue: "notifierDeliveries",
          handler: "src/lambda.deliveries",
          timeoutSeconds: 45,
          memoryMb: 512,
          batchSize: 5,
          maximumConcurrency: 20,
        },
      ],
      // Fan-out writes deliveries and schedules attempts on its own delivery queue; email via SES.
      // Reads the jobs table to check an event against the job before announcing it. Webhook
      // signing secrets are stored encrypted under the secrets key (Encrypt on create and
      // rotate, Decrypt to sign a delivery).
      uses: {
        tables: ["notifications", "jobs", "apiKeys"],
        queues: ["notifierDeliveries"],
        email: true,
        apiKey: true,
        keys: ["secrets"],
      },
    },
    batcher: {
      // Starts a run's batch jobs, then checks them (a delayed message to itself per check) until
      // they end; their answers go into the result cache and the run's documents to the stages.
      consumers: [
        {
          queue: "batcher",
          handler: "src/lambda.handler",
          timeoutSeconds: 900,
          memoryMb: 2048,
          batchSize: 1,
          maximumConcurrency: 2,
        },
      ],
      uses: {
        topics: ["documents"],
        queues: ["batcher"],
        tables: ["jobs"],
        buckets: ["documents"],
        bedrockBatch: true,
      },
    },
  },
} as const satisfies Topology;

export type QuireTopology = typeof topology;

/**
 * How many services of a topology call the model, and so split its quota (the governor's share, Lambda concurrency).
 */
export const stagesSharingModelOf = (declared: Topology) =>
  Object.values(declared.services).filter((service) => service.uses.bedrock === true).length;
/** The same for Quire's topology. */
export const stagesSharingModel = stagesSharingModelOf(topology);
export type QueueName = keyof QuireTopology["queues"];
export type TableName = keyof QuireTopology["tables"];
export type DeployedServiceName = keyof QuireTopology["services"];
