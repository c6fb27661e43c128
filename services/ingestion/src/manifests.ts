/**
 * Runs too large for one request body: a manifest of documents, one JSON object per line (NDJSON),
 * uploaded straight to S3 with a presigned URL (API Gateway takes at most 10 MB; S3, 5 GB in one
 * PUT), then submitted as a run by its id. Nothing here holds a manifest in memory: it is read as a
 * stream, a line at a time — once to check every line and count the documents (so the run's total
 * is known, and a bad line refuses the whole run before anything is written), and then, by the
 * ingestion's `runManifests` consumer, a chunk of lines per message, each chunk's jobs written and
 * published before the next chunk is sent on.
 */
import type { Readable } from "node:stream";
import { z } from "zod";
import { isoTimestamp, runId as runIdSchema, SCHEMA_VERSION, schemaVersion } from "@quire/contracts";

/** A run from a manifest holds at most this many documents. */
export const MAX_MANIFEST_DOCUMENTS = 100_000;
/** Documents a `runManifests` message expands: its jobs' writes and publishes fit well inside its visibility timeout. */
export const MANIFEST_LINES_PER_MESSAGE = 500;
/** How long a manifest's upload URL stays valid. */
export const MANIFEST_UPLOAD_SECONDS = 3600;

/** Where a manifest is uploaded, and where a run keeps its own copy (an upload URL could overwrite the first). */
export const manifestUploadKey = (manifestId: string) => `manifests/uploads/${manifestId}.ndjson`;
export const runManifestKey = (runId: string) => `manifests/runs/${runId}.ndjson`;

export const manifestIdSchema = z
  .string()
  .regex(/^mfs_[0-9A-Za-z]{10,40}$/, "a manifest id looks like mfs_<id>")
  .meta({ example: "mfs_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7" });

/** The next chunk of a run's manifest to expand into jobs (ingestion to itself, on `runManifests`). */
export const runManifestChunk = z.object({
  schemaVersion,
  type: z.literal("run.manifest"),
  runId: runIdSchema,
  /** The byte of the run's manifest copy this chunk starts at, and the index of its first document. */
  fromByte: z.int().nonnegative(),
  fromIndex: z.int().nonnegative(),
  /** Batch: once every job is written, the run goes to the batcher (`run.batch`), not to the stages. */
  mode: z.enum(["onDemand", "batch"]),
  fallbackAt: isoTimestamp.optional(),
});
export type RunManifestChunk = z.infer<typeof runManifestChunk>;
export const firstManifestChunk = (
  runId: string,
  inference: { mode: "onDemand" | "batch"; fallbackAt?: string | undefined },
): RunManifestChunk => ({
  schemaVersion: SCHEMA_VERSION,
  type: "run.manifest",
  runId,
  fromByte: 0,
  fromIndex: 0,
  mode: inference.mode,
  ...(inference.fallbackAt ? { fallbackAt: inference.fallbackAt } : {}),
});

export class ManifestLineTooLongError extends Error {
  override readonly name = "ManifestLineTooLongError";
  readonly line: number;
  readonly maxBytes: number;
  constructor(line: number, maxBytes: number) {
    super(`line ${line} is longer than ${maxBytes} bytes`);
    this.line = line;
    this.maxBytes = maxBytes;
  }
}

export interface ManifestLine {
  /** 1-based, counting blank lines. */
  line: number;
  text: string;
  /** Byte offsets of the line in the object, its newline excluded / included. */
  start: number;
  next: number;
}

/**
 * The lines of an NDJSON stream, with their byte offsets, one at a time: memory holds one chunk of
 * the stream and one line (a line over `maxLineBytes` is an error, not a growing buffer). `\r\n`
 * ends a line too. Blank lines are skipped (their bytes still counted).
 */
export async function* ndjsonLines(
  body: AsyncIterable<Uint8Array> | Readable,
  options: { startByte?: number; firstLine?: number; maxLineBytes: number },
): AsyncGenerator<ManifestLine> {
  let pending: Buffer = Buffer.alloc(0);
  let offset = options.startByte ?? 0;
  let line = options.firstLine ?? 1;
  const emit = (bytes: Buffer, newline: number): ManifestLine | undefined => {
    const start = offset;
    offset += bytes.length + newline;
    const current = line++;
    const text = (bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes).toString("utf8");
    return text.trim().length === 0 ? undefined : { line: current, text, start, next: offset };
  };
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
    let from = 0;
    for (let end = pending.indexOf(0x0a, from); end !== -1; end = pending.indexOf(0x0a, from)) {
      if (end - from > options.maxLineBytes) throw new ManifestLineTooLongError(line, options.maxLineBytes);
      const entry = emit(pending.subarray(from, end), 1);
      if (entry) yield entry;
      from = end + 1;
    }
    pending = pending.subarray(from);
    if (pending.length > options.maxLineBytes) throw new ManifestLineTooLongError(line, options.maxLineBytes);
  }
  if (pending.length) {
    const entry = emit(pending, 0);
    if (entry) yield entry;
  }
}

/**
 * The longest line a manifest may hold: a document at the size limit, written as JSON (escapes can
 * make a text up to six times longer), with room for its title and metadata.
 */
export const maxManifestLineBytes = (maxDocumentBytes: number) => maxDocumentBytes * 6 + 64 * 1024;
