import { DOCUMENT_SUBMITTED, MESSAGE_TYPE_ATTRIBUTE } from "@quire/contracts";
import type { QueueDeclaration, Topology } from "./types.ts";

const DAY = 24 * 60 * 60;

/**
 * Work queues share these settings. The visibility timeout must outlast one handler run
 * (a Bedrock call with retries); the local runner and Lambda heartbeat past it for long ones.
 */
const workQueue = (consumer: string, overrides: Partial<QueueDeclaration> = {}): QueueDeclaration => ({
  consumer,
  visibilityTimeoutSeconds: 120,
  messageRetentionSeconds: 4 * DAY,
  receiveWaitTimeSeconds: 20,
  maxReceiveCount: 5,
  dlq: { messageRetentionSeconds: 14 * DAY },
  ...overrides,
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
    summarizer: workQueue("summarizer"),
    classifier: workQueue("classifier"),
    notifier: workQueue("notifier", { visibilityTimeoutSeconds: 60, maxReceiveCount: 8 }),
    // The notifier's own: one message per (event, subscription) attempt. Retries are re-enqueued
    // with DelaySeconds (chained past SQS's 15-minute cap), so a slow or dead endpoint never holds
    // a handler. Visibility outlasts one attempt (15 s timeout) with room for the log writes.
    notifierDeliveries: workQueue("notifier", { visibilityTimeoutSeconds: 60, maxReceiveCount: 5, receiveWaitTimeSeconds: 20 }),
  },
  subscriptions: {
    summarizerDocuments: {
      topic: "documents",
      queue: "summarizer",
      rawMessageDelivery: true,
      filterPolicy: { [MESSAGE_TYPE_ATTRIBUTE]: [DOCUMENT_SUBMITTED] },
      filterPolicyScope: "MessageAttributes",
    },
    classifierDocuments: {
      topic: "documents",
      queue: "classifier",
      rawMessageDelivery: true,
      filterPolicy: { [MESSAGE_TYPE_ATTRIBUTE]: [DOCUMENT_SUBMITTED] },
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
      pattern: {
        source: [{ prefix: "quire." }],
        detailType: ["Job Completed", "Job Failed", "Run Completed"],
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
  },
  buckets: {
    documents: { description: "Claim-check storage for documents too large for a message." },
  },
} as const satisfies Topology;

export type QuireTopology = typeof topology;
export type QueueName = keyof QuireTopology["queues"];
export type TableName = keyof QuireTopology["tables"];
