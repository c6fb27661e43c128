import { z } from "zod";
import {
  classificationResult,
  documentMetadata,
  failureReason,
  isoTimestamp,
  jobId,
  runId,
  schemaVersion,
  stageName,
  summaryResult,
} from "./common.ts";

/** Every EventBridge `source` Quire puts is `quire.<service>`. */
export const SERVICES = ["ingestion", "summarizer", "classifier", "notifier", "batcher"] as const;
export type ServiceName = (typeof SERVICES)[number];
export const eventSource = (service: ServiceName) => `quire.${service}` as const;

const jobCorrelation = {
  schemaVersion,
  jobId,
  runId: runId.optional(),
};

export const summaryCompleted = z.object({
  ...jobCorrelation,
  summary: summaryResult,
  completedAt: isoTimestamp,
});

export const classificationCompleted = z.object({
  ...jobCorrelation,
  classification: classificationResult,
  completedAt: isoTimestamp,
});

export const jobCompleted = z.object({
  ...jobCorrelation,
  title: z.string().optional(),
  metadata: documentMetadata.optional(),
  summary: summaryResult,
  classification: classificationResult,
  submittedAt: isoTimestamp,
  completedAt: isoTimestamp,
});

export const jobFailed = z.object({
  ...jobCorrelation,
  title: z.string().optional(),
  metadata: documentMetadata.optional(),
  stage: stageName.optional(),
  reason: failureReason,
  failedAt: isoTimestamp,
});

export const runCompleted = z.object({
  schemaVersion,
  runId,
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  countsByClassification: z.record(z.string(), z.number().int().nonnegative()),
  startedAt: isoTimestamp,
  completedAt: isoTimestamp,
  /**
   * The model tokens of the run's jobs' results and what they cost at the counting stage's price
   * table (US dollars; `unpricedJobs` had a model without a price). Absent from older events.
   */
  usage: z
    .object({
      inputTokens: z.number().int().nonnegative(),
      outputTokens: z.number().int().nonnegative(),
      costUsd: z.number().nonnegative(),
      unpricedJobs: z.number().int().nonnegative(),
    })
    .optional(),
});

/**
 * Upstream systems may put this on the bus instead of calling the HTTP API (any source).
 * It has no jobId yet: ingestion assigns one, exactly as for `POST /v1/documents`.
 */
export const documentSubmittedExternally = z.object({
  schemaVersion: schemaVersion.optional(),
  text: z.string().min(1),
  title: z.string().max(512).optional(),
  metadata: documentMetadata.optional(),
  idempotencyKey: z.string().min(1).max(256).optional(),
});

/**
 * The catalogue of EventBridge events: detail-type → who emits it and the detail schema.
 * Topology rules, the AsyncAPI document and consumers all read it, so names live in one place.
 */
export const eventCatalog = {
  "Summary Completed": { sources: ["quire.summarizer"], detail: summaryCompleted },
  "Classification Completed": { sources: ["quire.classifier"], detail: classificationCompleted },
  // Emitted by whichever stage finishes the job last (it wins the conditional write).
  "Job Completed": { sources: ["quire.summarizer", "quire.classifier"], detail: jobCompleted },
  // Emitted by a stage giving up, or by the DLQ handler of any consumer.
  "Job Failed": {
    sources: ["quire.summarizer", "quire.classifier", "quire.ingestion", "quire.notifier"],
    detail: jobFailed,
  },
  "Run Completed": { sources: ["quire.summarizer", "quire.classifier", "quire.ingestion"], detail: runCompleted },
  "Document Submitted": { sources: ["*"], detail: documentSubmittedExternally },
} as const satisfies Record<string, { sources: readonly string[]; detail: z.ZodType }>;

export type DetailType = keyof typeof eventCatalog;
export const DETAIL_TYPES = Object.keys(eventCatalog) as DetailType[];
export type EventDetail<T extends DetailType> = z.infer<(typeof eventCatalog)[T]["detail"]>;

/** Parse an event's detail by its detail-type; throws a ZodError naming the bad field. */
export function parseEventDetail<T extends DetailType>(detailType: T, detail: unknown): EventDetail<T> {
  return eventCatalog[detailType].detail.parse(detail) as EventDetail<T>;
}

export function isDetailType(value: string): value is DetailType {
  return Object.hasOwn(eventCatalog, value);
}

/** The EventBridge envelope as delivered to SQS targets (and as TestEventPattern reads it). */
export const eventEnvelope = z.object({
  version: z.literal("0"),
  id: z.string(),
  "detail-type": z.string(),
  source: z.string(),
  account: z.string(),
  time: isoTimestamp,
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.unknown(),
});
export type EventEnvelope = z.infer<typeof eventEnvelope>;
