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

/**
 * Bounds on what a caller attaches to a document. Metadata and title travel with the job
 * everywhere: in the `document.submitted` SNS message, on the job's DynamoDB item, and in
 * every `Job Completed` / `Job Failed` event. They are bounded so each of those fits its
 * service's limit by construction, whatever the caller sends:
 *
 * - EventBridge: an entry is at most 256 KB. `Job Completed` = title (≤ 512 UTF-16 units, so
 *   ≤ 3 KiB even if every one is JSON-escaped as `\uXXXX`) + metadata (≤ 8 KiB of JSON) + ids,
 *   timestamps and usage (< 1 KiB) + the classification (< 1 KiB) + the summary: it leaves
 *   more than 240 KB for a summary of a few KB, and `Job Failed` (no results) always fits.
 * - DynamoDB: an item is at most 400 KB. The job item holds the inline document (< 256 KiB,
 *   see below), metadata, title and both stage results: well under.
 * - SNS: a message with its message attributes is at most 256 KiB (262,144 bytes). Metadata
 *   rides in the body, never as message attributes (SNS/SQS allow 10 per message and count
 *   each name, type and value); with ≤ 8 KiB of metadata and title a claim-checked message is
 *   always far below the limit, and an inline document gets the rest (ingestion measures the
 *   encoded message, attributes included, and otherwise sends the text by claim check).
 *
 * The keys are few (a 50-key record is already more than anyone filters on) and flat: values
 * are scalars so SNS filter policies and subscription filters can address them. Names an
 * object cannot safely carry (`__proto__`, `constructor`, `prototype`) are refused: JSON
 * parsers drop or misread them, and DynamoDB's marshaller rejects a `constructor` property.
 */
export const METADATA_MAX_KEYS = 50;
export const METADATA_MAX_KEY_LENGTH = 128;
export const METADATA_MAX_STRING_LENGTH = 1024;
/** UTF-8 bytes of the metadata as JSON (`JSON.stringify`), escapes included. */
export const METADATA_MAX_BYTES = 8 * 1024;
export const METADATA_RESERVED_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];
/** A document's title, in UTF-16 code units (JavaScript string length). */
export const TITLE_MAX_LENGTH = 512;
/**
 * The `params.code` on a metadata issue over a size bound (key count, total bytes), so an API
 * can answer it with its own error code (ingestion: 400 METADATA_TOO_LARGE).
 */
export const METADATA_TOO_LARGE = "METADATA_TOO_LARGE";

const utf8 = new TextEncoder();

/**
 * A number DynamoDB stores as given: within ±2^53 (the SDK refuses larger integers, as they
 * would lose digits) and 0 or at least 1e-130 in magnitude (DynamoDB's smallest).
 */
export const storableNumber = z
  .number()
  .min(-Number.MAX_SAFE_INTEGER)
  .max(Number.MAX_SAFE_INTEGER)
  .refine((n) => n === 0 || Math.abs(n) >= 1e-130, "numbers are 0 or at least 1e-130 in magnitude");

const metadataRecord = z
  .record(
    z
      .string()
      .min(1)
      .max(METADATA_MAX_KEY_LENGTH)
      .meta({ not: { enum: [...METADATA_RESERVED_KEYS] } }),
    z.union([z.string().max(METADATA_MAX_STRING_LENGTH), storableNumber, z.boolean()], {
      error: `metadata values are flat scalars: a string (at most ${METADATA_MAX_STRING_LENGTH} characters), a number or a boolean`,
    }),
    {
      error: (issue) =>
        issue.code === "invalid_key" ? `metadata keys are 1 to ${METADATA_MAX_KEY_LENGTH} characters` : undefined,
    },
  )
  .meta({
    maxProperties: METADATA_MAX_KEYS,
    description: `Flat caller metadata: at most ${METADATA_MAX_KEYS} keys and ${METADATA_MAX_BYTES} bytes as JSON; ${METADATA_RESERVED_KEYS.join(", ")} are reserved names.`,
  });

/**
 * Free-form caller metadata, flat so SNS filter policies and subscription filters can address
 * it, and bounded (see METADATA_MAX_KEYS…). Reserved names and the size bounds are checked on
 * the raw input, before the record is built: a record silently drops a `__proto__` key, and
 * 600 oversized entries are one "too large", not 600 issues.
 */
export const documentMetadata = z.preprocess((value, ctx) => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  for (const key of keys) {
    if (METADATA_RESERVED_KEYS.includes(key)) {
      ctx.addIssue({ code: "custom", path: [key], input: value, message: `${JSON.stringify(key)} is a reserved name` });
    }
  }
  if (keys.length > METADATA_MAX_KEYS) {
    ctx.addIssue({
      code: "custom",
      input: value,
      params: { code: METADATA_TOO_LARGE },
      message: `metadata has ${keys.length} keys; at most ${METADATA_MAX_KEYS} are allowed`,
    });
  } else if (Object.values(value).every((entry) => typeof entry !== "object" || entry === null)) {
    // Measured only when flat: a nested value is refused by the record below anyway, and one
    // nested thousands deep would overflow JSON.stringify's stack here.
    const bytes = utf8.encode(JSON.stringify(value)).byteLength;
    if (bytes > METADATA_MAX_BYTES) {
      ctx.addIssue({
        code: "custom",
        input: value,
        params: { code: METADATA_TOO_LARGE },
        message: `metadata is ${bytes} bytes as JSON; at most ${METADATA_MAX_BYTES} are allowed`,
      });
    }
  }
  return value;
}, metadataRecord);

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
  /** How the model was called, which sets the price of `usage`: absent, on demand; `batch`, Bedrock batch inference (about half). */
  inference: z.enum(["onDemand", "batch"]).optional(),
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
