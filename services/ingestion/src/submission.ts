import { CopyObjectCommand, GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  newJobId,
  newRunId,
  RUN_BATCH,
  runDocumentJobId,
  SCHEMA_VERSION,
  type FailureReason,
  type StageName,
} from "@quire/contracts";
import type { Job, JobStore } from "@quire/jobs";
import { createLogger, type Logger } from "@quire/runtime";
import { documentSubmittedMessage } from "@quire/contracts";
import { fitsInline, type DocumentPublisher } from "@quire/pipeline";
import { sha256Hex, storeClaimCheck } from "./documents.ts";
import { ApiError } from "@quire/http-api";
import {
  MANIFEST_LINES_PER_MESSAGE,
  MAX_MANIFEST_DOCUMENTS,
  ManifestLineTooLongError,
  firstManifestChunk,
  manifestUploadKey,
  maxManifestLineBytes,
  ndjsonLines,
  runManifestKey,
  type RunManifestChunk,
} from "./manifests.ts";
import type { DocumentStats } from "./planning.ts";

/** What a run is submitted with, besides its documents. */
export interface RunOptions {
  deadline?: string;
  plan?: Record<string, unknown>;
  budget?: { usd?: number; tokens?: number };
  /** How its model calls are made (kept on the run, for GET /v1/runs/{id}). */
  inference?: RunInference;
}
/** A run's inference, as a manifest run's chunk and the batcher's message carry it. */
export type RunInference = { mode: "onDemand" | "batch"; fallbackAt?: string | undefined };

/** Reads one manifest line's JSON as a run's document, or says what is wrong with it. */
export type ParseDocument = (value: unknown) => { ok: true; document: DocumentInput } | { ok: false; message: string };

export interface DocumentInput {
  text: string;
  title?: string | undefined;
  metadata?: Record<string, string | number | boolean> | undefined;
  idempotencyKey?: string | undefined;
}

export interface SubmissionDependencies {
  jobs: JobStore;
  publisher: DocumentPublisher;
  /** Fails a job and announces it (Job Failed, run accounting): the job lifecycle, shared by every service. */
  failJob: (jobId: string, reason: FailureReason) => Promise<void>;
  s3: S3Client;
  bucket: string;
  claimCheckBytes: number;
  maxDocumentBytes: number;
  /** Where a manifest run's chunks wait to be expanded (ingestion's `runManifests` queue). */
  manifestChunks?: { send(chunk: RunManifestChunk): Promise<void> };
  now?: () => Date;
  log?: Logger;
}

const STAGES: StageName[] = ["summary", "classification"];
/** Parallel job writes while a run is accepted: dynalite tops out around 20 concurrent writers. */
const RUN_WRITE_CONCURRENCY = 16;
/**
 * A key claimed this long ago whose job was never written belongs to a submission that died
 * between the claim and the job write (a crash: its own failure handling releases the key
 * otherwise). Lambda stops any invocation within 15 minutes, so nothing is still using it.
 */
export const ABANDONED_CLAIM_MS = 15 * 60_000;

/**
 * What makes two submissions "the same request" for an idempotency key: text, title and
 * metadata (key order aside). The `wait` parameter is not part of it: waiting or not, it is
 * the same document.
 */
export function requestFingerprint(input: DocumentInput): string {
  const metadata =
    input.metadata === undefined
      ? null
      : Object.entries(input.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256Hex(JSON.stringify([input.text, input.title ?? null, metadata]));
}

/**
 * Accepting documents: store the job first, then publish. A publish that fails marks the job
 * failed (PUBLISH_FAILED) so nothing is left pending forever, and the caller gets a 503.
 */
export function createSubmission(deps: SubmissionDependencies) {
  const now = () => (deps.now ? deps.now() : new Date());
  const log = deps.log ?? createLogger({ service: "ingestion" });

  function checkSize(text: string) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > deps.maxDocumentBytes) {
      throw new ApiError(
        413,
        "DOCUMENT_TOO_LARGE",
        `Document is ${bytes} bytes; the limit is ${deps.maxDocumentBytes}.`,
      );
    }
  }

  async function prepare(
    input: DocumentInput,
    runId: string | undefined,
    priority: "interactive" | "bulk",
    jobId = newJobId(),
  ) {
    const submittedAt = now().toISOString();
    const contentSha256 = sha256Hex(input.text);
    const fields = {
      jobId,
      submittedAt,
      contentSha256,
      stages: STAGES,
      priority,
      ...(runId ? { runId } : {}),
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    };
    // Inline if the message, as SNS measures it, fits; else by claim check.
    const inline = documentSubmittedMessage({ ...fields, document: { kind: "inline", text: input.text } });
    const message = fitsInline(inline, deps.claimCheckBytes)
      ? inline
      : documentSubmittedMessage({
          ...fields,
          document: await storeClaimCheck(deps.s3, deps.bucket, jobId, input.text),
        });
    const { job } = await deps.jobs.createJob({
      jobId,
      contentSha256,
      document: message.document,
      stages: STAGES,
      submittedAt,
      ...(runId ? { runId } : {}),
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
    });
    return { job, message };
  }

  /**
   * A run's documents as jobs and messages, RUN_WRITE_CONCURRENCY at a time, in order. The first
   * failure stops the rest from starting and is answered (once those under way have ended).
   */
  async function prepareAll(documents: readonly DocumentInput[], runId: string, jobIdOf: (index: number) => string) {
    const prepared: Awaited<ReturnType<typeof prepare>>[] = new Array(documents.length);
    let next = 0;
    let failure: unknown;
    await Promise.all(
      Array.from({ length: Math.min(RUN_WRITE_CONCURRENCY, documents.length) }, async () => {
        while (next < documents.length && failure === undefined) {
          const index = next++;
          try {
            prepared[index] = await prepare(documents[index]!, runId, "bulk", jobIdOf(index));
          } catch (error) {
            failure ??= error;
          }
        }
      }),
    );
    return { prepared, failure };
  }

  /** Fails the job and announces it; if even that fails, the caller's answer stands (logged). */
  async function publishFailed(jobId: string, why: string) {
    try {
      await deps.failJob(jobId, {
        code: "PUBLISH_FAILED",
        message: `document.submitted could not be published: ${why}`,
      });
    } catch (error) {
      log.error("could not fail a job whose publish failed; it stays pending", { jobId, error });
    }
  }

  /**
   * Owns `key` for `jobId`, or answers what the key already stands for: the job it made, or a
   * 409 (a different request reusing the key; the same request still being accepted).
   *
   * A key whose job failed PUBLISH_FAILED (its failed submission could not release it) or whose
   * job was never written long after the claim (a crash) is released here and claimed afresh:
   * the retry is a new submission with a new job id. The failed job is never revived: a job
   * that failed stays failed (its Job Failed went out, a run counted it), and only conditional
   * transitions of one job id guard exactly-once completion, so a fresh id keeps every one of
   * them true — even if the first publish did reach SNS after all, its stages find that job
   * failed and do nothing.
   */
  async function claimKey(key: string, jobId: string, requestHash: string): Promise<{ existing: Job } | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const claim = await deps.jobs.claimIdempotencyKey(key, jobId, { requestHash });
      if (claim.claimed) return undefined;
      const existing = await deps.jobs.getJob(claim.jobId);
      const abandoned = existing
        ? existing.status === "failed" && existing.error?.code === "PUBLISH_FAILED"
        : now().getTime() - Date.parse(claim.claimedAt) > ABANDONED_CLAIM_MS;
      if (abandoned) {
        // As if its failed submission had released it. Conditional on the owner: of two
        // retries racing here, one claims the key next.
        await deps.jobs.releaseIdempotencyKey(key, claim.jobId);
        continue;
      }
      if (claim.requestHash !== undefined && claim.requestHash !== requestHash) {
        throw new ApiError(
          409,
          "IDEMPOTENCY_KEY_REUSED",
          "This idempotency key was used with a different request (text, title or metadata); use a new key for a new document.",
        );
      }
      if (!existing)
        throw new ApiError(
          409,
          "SUBMISSION_IN_PROGRESS",
          "A request with this idempotency key is still being accepted; retry shortly.",
        );
      return { existing };
    }
    throw new ApiError(
      409,
      "SUBMISSION_IN_PROGRESS",
      "A request with this idempotency key is still being accepted; retry shortly.",
    );
  }

  /** After a failed submission: a retry with the key must be able to try again. */
  async function releaseKey(key: string, jobId: string) {
    try {
      await deps.jobs.releaseIdempotencyKey(key, jobId);
    } catch (error) {
      log.error("could not release the idempotency key of a failed submission", { jobId, error });
    }
  }

  /** The run's record, with its total and what it was submitted with (documents or a manifest alike). */
  async function createRun(runId: string, total: number, options: RunOptions) {
    await deps.jobs.createRun({
      runId,
      total,
      submittedAt: now().toISOString(),
      ...(options.deadline ? { deadline: options.deadline } : {}),
      ...(options.plan ? { plan: options.plan } : {}),
      ...(options.budget ? { budget: options.budget } : {}),
      ...(options.inference ? { inference: options.inference } : {}),
    });
  }

  /** Hands a run whose jobs are all written to the batcher (one `run.batch`), instead of its stages. */
  async function publishRunBatch(runId: string, inference: RunInference) {
    await deps.publisher.publishRunBatch({
      schemaVersion: SCHEMA_VERSION,
      type: RUN_BATCH,
      runId,
      ...(inference.fallbackAt ? { fallbackAt: inference.fallbackAt } : {}),
    });
  }

  /** The manifest object, streamed; a missing one is the caller's 404. */
  async function openManifest(key: string, range?: string) {
    try {
      const object = await deps.s3.send(
        new GetObjectCommand({ Bucket: deps.bucket, Key: key, ...(range ? { Range: range } : {}) }),
      );
      return object.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
    } catch (error) {
      if ((error as Error).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  return {
    /**
     * One document; an idempotency key already used for the same request answers with the job it
     * created. Any failure after the key was claimed (S3, the job write, the publish) releases it.
     */
    async submitDocument(
      input: DocumentInput,
      priority: "interactive" | "bulk",
    ): Promise<{ job: Job; created: boolean }> {
      checkSize(input.text);
      const jobId = newJobId();
      const key = input.idempotencyKey;
      if (key !== undefined) {
        // Claim the key before anything else is written, so a retried request never makes a second job.
        const known = await claimKey(key, jobId, requestFingerprint(input));
        if (known) return { job: known.existing, created: false };
      }
      try {
        const { job, message } = await prepare(input, undefined, priority, jobId);
        try {
          await deps.publisher.publish(message);
        } catch (error) {
          await publishFailed(job.jobId, (error as Error).message);
          throw new ApiError(
            503,
            "PUBLISH_FAILED",
            "The document was not accepted: the pipeline is unavailable. Retry later.",
          );
        }
        return { job, created: true };
      } catch (error) {
        if (key !== undefined) await releaseKey(key, jobId);
        throw error;
      }
    },

    /**
     * Many documents as one run; jobs are written in parallel and published in PublishBatch
     * calls of at most 10 entries and 256 KiB.
     */
    async submitRun(
      documents: DocumentInput[],
      options: RunOptions & {
        /** Batch: the run goes to the batcher (one `run.batch`), not to the stages. On demand by default. */
        inference?: RunInference;
      },
    ): Promise<{ runId: string; jobIds: string[] }> {
      documents.forEach((d, i) => {
        try {
          checkSize(d.text);
        } catch (error) {
          throw new ApiError(413, "DOCUMENT_TOO_LARGE", `documents[${i}]: ${(error as Error).message}`);
        }
      });
      const runId = newRunId();
      await createRun(runId, documents.length, options);
      // Ids first: if any write fails, the cleanup knows every job that may have been written.
      // Sorted, so the byRun index (jobId order) lists the run's jobs in the order of its documents:
      // ids made in the same millisecond would otherwise order by their random part.
      const jobIds = documents.map(() => newJobId()).sort();
      const { prepared, failure } = await prepareAll(documents, runId, (index) => jobIds[index]!);
      if (failure !== undefined) {
        // Nothing was published: leave no run waiting on jobs that will never run.
        try {
          await deps.jobs.discardUnpublishedRun(runId, jobIds);
        } catch (error) {
          log.error("could not discard a failed run's records", { runId, error });
        }
        throw failure;
      }
      if (options.inference?.mode === "batch") {
        // The batcher publishes the run's document.submitted once the batch has answered (or
        // could not): one message now, or every job fails PUBLISH_FAILED as a refused publish does.
        try {
          await publishRunBatch(runId, options.inference);
        } catch (error) {
          for (const { job } of prepared) await publishFailed(job.jobId, (error as Error).message);
        }
        return { runId, jobIds: prepared.map((p) => p.job.jobId) };
      }
      const refused = await deps.publisher.publishBatch(prepared.map((p) => p.message));
      for (const { jobId, reason } of refused) await publishFailed(jobId, reason);
      return { runId, jobIds: prepared.map((p) => p.job.jobId) };
    },

    /**
     * Checks an uploaded manifest, streaming it once: every line a document (`parse`), within the
     * size limits, at most MAX_MANIFEST_DOCUMENTS. Answers what planning needs (how many, their
     * characters); the first bad line refuses the run, naming the line.
     */
    async readManifest(manifestId: string, parse: ParseDocument): Promise<DocumentStats> {
      const body = await openManifest(manifestUploadKey(manifestId));
      if (!body) {
        throw new ApiError(
          404,
          "MANIFEST_NOT_FOUND",
          `No manifest ${manifestId} was uploaded (POST /v1/manifests, then PUT the NDJSON to its upload URL).`,
        );
      }
      let count = 0;
      let characters = 0;
      const invalid = (line: number, message: string) =>
        new ApiError(400, "MANIFEST_INVALID", `manifest line ${line}: ${message}`);
      try {
        for await (const { line, text } of ndjsonLines(body, {
          maxLineBytes: maxManifestLineBytes(deps.maxDocumentBytes),
        })) {
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            throw invalid(line, "not JSON");
          }
          const parsed = parse(value);
          if (!parsed.ok) throw invalid(line, parsed.message);
          try {
            checkSize(parsed.document.text);
          } catch (error) {
            throw new ApiError(413, "DOCUMENT_TOO_LARGE", `manifest line ${line}: ${(error as Error).message}`);
          }
          if (++count > MAX_MANIFEST_DOCUMENTS) {
            throw new ApiError(
              413,
              "MANIFEST_TOO_LARGE",
              `A manifest holds at most ${MAX_MANIFEST_DOCUMENTS} documents; split it into runs.`,
            );
          }
          characters += parsed.document.text.length;
        }
      } catch (error) {
        body.destroy?.();
        if (error instanceof ManifestLineTooLongError) {
          throw new ApiError(413, "DOCUMENT_TOO_LARGE", `manifest ${error.message}`);
        }
        throw error;
      }
      if (count === 0) throw invalid(1, "the manifest holds no document");
      return { count, characters };
    },

    /**
     * A run of a checked manifest: the run's own copy of it (its upload URL could overwrite the
     * upload), the run with its total, and its first chunk queued for expansion. A chunk that
     * cannot be queued leaves no run behind (503).
     */
    async submitManifestRun(
      manifestId: string,
      stats: DocumentStats,
      options: RunOptions & { inference: RunInference },
    ): Promise<{ runId: string }> {
      if (!deps.manifestChunks) throw new Error("manifest runs need the runManifests queue (manifestChunks)");
      const runId = newRunId();
      await deps.s3.send(
        new CopyObjectCommand({
          Bucket: deps.bucket,
          Key: runManifestKey(runId),
          CopySource: `${deps.bucket}/${manifestUploadKey(manifestId)}`,
        }),
      );
      await createRun(runId, stats.count, options);
      try {
        await deps.manifestChunks.send(firstManifestChunk(runId, options.inference));
      } catch (error) {
        log.error("could not queue a manifest run's first chunk", { runId, error });
        try {
          await deps.jobs.discardUnpublishedRun(runId, []);
        } catch (discardError) {
          log.error("could not discard a manifest run that was never queued", { runId, error: discardError });
        }
        throw new ApiError(
          503,
          "PUBLISH_FAILED",
          "The run was not accepted: the pipeline is unavailable. Retry later.",
        );
      }
      return { runId };
    },

    /**
     * Expands one chunk of a manifest run: its next MANIFEST_LINES_PER_MESSAGE documents become jobs
     * (ids from the run and the line: a chunk delivered twice writes the same jobs) and are
     * published; answers the chunk after it, or undefined once the manifest is done (a batch run
     * then goes to the batcher).
     */
    async expandManifestChunk(chunk: RunManifestChunk, parse: ParseDocument): Promise<RunManifestChunk | undefined> {
      const body = await openManifest(runManifestKey(chunk.runId), `bytes=${chunk.fromByte}-`);
      if (!body) throw new Error(`the manifest copy of run ${chunk.runId} is gone`);
      const documents: DocumentInput[] = [];
      let next: RunManifestChunk | undefined;
      try {
        for await (const { line, text, start } of ndjsonLines(body, {
          startByte: chunk.fromByte,
          maxLineBytes: maxManifestLineBytes(deps.maxDocumentBytes),
        })) {
          if (documents.length === MANIFEST_LINES_PER_MESSAGE) {
            next = { ...chunk, fromByte: start, fromIndex: chunk.fromIndex + documents.length };
            break;
          }
          const parsed = parse(JSON.parse(text));
          // The run's copy was checked whole before the run was accepted, and nothing writes it since.
          if (!parsed.ok)
            throw new Error(`run ${chunk.runId} manifest, line from byte ${start} (${line}): ${parsed.message}`);
          documents.push(parsed.document);
        }
      } finally {
        body.destroy?.();
      }
      const { prepared, failure } = await prepareAll(documents, chunk.runId, (index) =>
        runDocumentJobId(chunk.runId, chunk.fromIndex + index),
      );
      // The redelivery writes the same jobs again, those already written included.
      if (failure !== undefined) throw failure;
      if (chunk.mode === "onDemand") {
        const refused = await deps.publisher.publishBatch(prepared.map((p) => p.message));
        for (const { jobId, reason } of refused) await publishFailed(jobId, reason);
      } else if (!next) {
        await publishRunBatch(chunk.runId, chunk);
      }
      return next;
    },
  };
}

export type Submission = ReturnType<typeof createSubmission>;
