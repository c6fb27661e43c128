import type { S3Client } from "@aws-sdk/client-s3";
import { newJobId, newRunId, type FailureReason, type StageName } from "@quire/contracts";
import type { Job, JobStore } from "@quire/jobs";
import { documentSubmittedMessage, placeDocument, sha256Hex, type DocumentPublisher } from "./documents.ts";
import { ApiError } from "@quire/http-api";

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
  now?: () => Date;
}

const STAGES: StageName[] = ["summary", "classification"];
/** Parallel job writes while a run is accepted: dynalite tops out around 20 concurrent writers. */
const RUN_WRITE_CONCURRENCY = 16;

/**
 * Accepting documents: store the job first, then publish. A publish that fails marks the job
 * failed (PUBLISH_FAILED) so nothing is left pending forever, and the caller gets a 503.
 */
export function createSubmission(deps: SubmissionDependencies) {
  const now = () => (deps.now ? deps.now() : new Date());

  function checkSize(text: string) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > deps.maxDocumentBytes) {
      throw new ApiError(413, "DOCUMENT_TOO_LARGE", `Document is ${bytes} bytes; the limit is ${deps.maxDocumentBytes}.`);
    }
  }

  async function prepare(input: DocumentInput, runId: string | undefined, priority: "interactive" | "bulk", jobId = newJobId()) {
    const submittedAt = now().toISOString();
    const document = await placeDocument(deps.s3, { bucket: deps.bucket, claimCheckBytes: deps.claimCheckBytes }, jobId, input.text);
    const contentSha256 = sha256Hex(input.text);
    const { job } = await deps.jobs.createJob({
      jobId,
      contentSha256,
      document,
      stages: STAGES,
      submittedAt,
      ...(runId ? { runId } : {}),
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
    });
    const message = documentSubmittedMessage({
      jobId,
      submittedAt,
      contentSha256,
      document,
      stages: STAGES,
      priority,
      ...(runId ? { runId } : {}),
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    });
    return { job, message };
  }

  async function publishFailed(jobId: string, error: unknown) {
    await deps.failJob(jobId, { code: "PUBLISH_FAILED", message: `document.submitted could not be published: ${(error as Error).message}` });
  }

  return {
    /** One document; an idempotency key already used answers with the job it created. */
    async submitDocument(input: DocumentInput, priority: "interactive" | "bulk"): Promise<{ job: Job; created: boolean }> {
      checkSize(input.text);
      const jobId = newJobId();
      if (input.idempotencyKey !== undefined) {
        // Claim the key before anything else is written, so a retried request never makes a second job.
        const claim = await deps.jobs.claimIdempotencyKey(input.idempotencyKey, jobId);
        if (!claim.claimed) {
          const existing = await deps.jobs.getJob(claim.jobId);
          if (!existing) throw new ApiError(409, "SUBMISSION_IN_PROGRESS", "A request with this idempotency key is still being accepted; retry shortly.");
          return { job: existing, created: false };
        }
      }
      const { job, message } = await prepare(input, undefined, priority, jobId);
      try {
        await deps.publisher.publish(message);
      } catch (error) {
        await publishFailed(job.jobId, error);
        throw new ApiError(503, "PUBLISH_FAILED", "The document was not accepted: the pipeline is unavailable. Retry later.");
      }
      return { job, created: true };
    },

    /** Many documents as one run; jobs are written in parallel and published in batches of 10. */
    async submitRun(documents: DocumentInput[], options: { deadline?: string }): Promise<{ runId: string; jobIds: string[] }> {
      documents.forEach((d, i) => {
        try {
          checkSize(d.text);
        } catch (error) {
          throw new ApiError(413, "DOCUMENT_TOO_LARGE", `documents[${i}]: ${(error as Error).message}`);
        }
      });
      const runId = newRunId();
      await deps.jobs.createRun({
        runId,
        total: documents.length,
        submittedAt: now().toISOString(),
        ...(options.deadline ? { deadline: options.deadline } : {}),
      });
      const prepared: Awaited<ReturnType<typeof prepare>>[] = new Array(documents.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(RUN_WRITE_CONCURRENCY, documents.length) }, async () => {
          while (next < documents.length) {
            const index = next++;
            prepared[index] = await prepare(documents[index]!, runId, "bulk");
          }
        }),
      );
      for (let i = 0; i < prepared.length; i += 10) {
        const batch = prepared.slice(i, i + 10).map((p) => p.message);
        let refused: string[];
        try {
          refused = await deps.publisher.publishBatch(batch);
        } catch (error) {
          refused = batch.map((m) => m.jobId);
          for (const jobId of refused) await publishFailed(jobId, error);
          continue;
        }
        for (const jobId of refused) await publishFailed(jobId, new Error("refused by SNS"));
      }
      return { runId, jobIds: prepared.map((p) => p.job.jobId) };
    },
  };
}

export type Submission = ReturnType<typeof createSubmission>;
