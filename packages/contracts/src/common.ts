import { z } from "zod";

/**
 * Every message Quire emits carries this version. Consumers parse with the schema of the
 * version they know; a breaking change adds a new literal and a new schema beside the old.
 */
export const SCHEMA_VERSION = 1 as const;
export const schemaVersion = z.literal(SCHEMA_VERSION);

export const jobId = z.string().regex(/^job_[0-9A-Za-z]{10,40}$/, "jobId looks like job_<id>");
export const runId = z.string().regex(/^run_[0-9A-Za-z]{10,40}$/, "runId looks like run_<id>");
export const isoTimestamp = z.iso.datetime({ offset: true });
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "sha256 as 64 lowercase hex digits");

/** Free-form caller metadata, flat so SNS filter policies and subscription filters can address it. */
export const documentMetadata = z.record(
  z.string().min(1).max(128),
  z.union([z.string().max(1024), z.number(), z.boolean()]),
);

export const stageName = z.enum(["summary", "classification"]);
export type StageName = z.infer<typeof stageName>;

/** Token accounting reported by Bedrock's Converse `usage`. */
export const tokenUsage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
});

/** Who produced a stage result: needed to key the result cache and to explain results. */
export const modelProvenance = z.object({
  modelId: z.string().min(1),
  promptVersion: z.string().min(1),
  usage: tokenUsage,
});

export const summaryResult = modelProvenance.extend({
  text: z.string(),
});
export type SummaryResult = z.infer<typeof summaryResult>;

export const classificationResult = modelProvenance.extend({
  label: z.string().min(1),
  confidence: z.number().min(0).max(1),
});
export type ClassificationResult = z.infer<typeof classificationResult>;

/** A stable, machine-readable failure reason (also used for DLQ entries). */
export const failureReason = z.object({
  code: z.string().regex(/^[A-Z][A-Z0-9_]+$/, "failure codes are UPPER_SNAKE_CASE"),
  message: z.string().min(1),
});
export type FailureReason = z.infer<typeof failureReason>;
