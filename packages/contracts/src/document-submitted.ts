import { z } from "zod";
import {
  documentMetadata,
  isoTimestamp,
  jobId,
  runId,
  SCHEMA_VERSION,
  schemaVersion,
  sha256Hex,
  stageName,
  TITLE_MAX_LENGTH,
} from "./common.ts";

/** SNS message attribute that every subscription's filter policy selects on. */
export const MESSAGE_TYPE_ATTRIBUTE = "type";
/**
 * SNS message attribute carrying the document's priority (`bulk` | `interactive`): each lane has its own stage queues.
 */
export const PRIORITY_ATTRIBUTE = "priority";
export const DOCUMENT_SUBMITTED = "document.submitted" as const;

/**
 * Where the document's text is. Small documents travel inline; larger ones are stored in S3
 * and the message carries a pointer (the claim-check pattern), keeping SNS/SQS under 256 KiB.
 */
export const documentLocation = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("inline"), text: z.string().min(1) }),
  z.object({
    kind: z.literal("s3"),
    bucket: z.string().min(3),
    key: z.string().min(1),
    sizeBytes: z.number().int().positive(),
  }),
]);
export type DocumentLocation = z.infer<typeof documentLocation>;

/** `interactive` requests (sync mode) go ahead of `bulk` runs when they share a model quota. */
export const submissionPriority = z.enum(["interactive", "bulk"]);

export const documentSubmitted = z.object({
  schemaVersion,
  type: z.literal(DOCUMENT_SUBMITTED),
  jobId,
  runId: runId.optional(),
  submittedAt: isoTimestamp,
  title: z.string().max(TITLE_MAX_LENGTH).optional(),
  metadata: documentMetadata.optional(),
  /** sha256 of the UTF-8 text: the content key of the result cache and idempotency. */
  contentSha256: sha256Hex,
  document: documentLocation,
  stages: z.array(stageName).min(1),
  priority: submissionPriority,
});
export type DocumentSubmitted = z.infer<typeof documentSubmitted>;

/** `document.submitted` from its fields: the one place the envelope is filled in (ingestion, the batcher). */
export function documentSubmittedMessage(input: Omit<DocumentSubmitted, "schemaVersion" | "type">): DocumentSubmitted {
  return { schemaVersion: SCHEMA_VERSION, type: DOCUMENT_SUBMITTED, ...input };
}
