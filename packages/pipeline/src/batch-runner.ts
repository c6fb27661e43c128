/**
 * A run through Bedrock batch inference, at about half the on-demand price, for runs that can wait.
 *
 * The batch computes; the stages still complete the jobs. `submit` turns the run's documents into
 * Converse batch records (one per stage and distinct content), writes them as JSONL to S3 and
 * starts a model invocation job per stage (and per 50,000 records or 1 GB). `check` waits for
 * them; once every one has ended, each answer that reads back as a stage result goes into the
 * result cache under the key the on-demand stage looks up (content, stage, its prompt version,
 * model), and every job of the run is published as `document.submitted`, as an on-demand run's
 * are. Each stage then finds its result cached — no model call — and records it, announcing
 * `Job Completed` and `Run Completed` exactly once through the same conditional writes as ever.
 * A record the batch refused (an error, a filtered or invalid answer, a document too long for one
 * call), or a batch job that failed or expired, leaves no cache entry: that stage calls the model
 * on demand. So nothing about completion, retries or failure is batch-specific, and a check that
 * runs twice (a redelivery) only writes the same cache entries and publishes duplicates the
 * stages already ignore.
 */
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import {
  type BedrockClient,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  StopModelInvocationJobCommand,
  type ModelInvocationJobStatus,
} from "@aws-sdk/client-bedrock";
import { ListObjectsV2Command, GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  classificationRecord,
  parseOutputLine,
  readClassificationAnswer,
  readSummaryAnswer,
  summaryRecord,
} from "@quire/bedrock";
import {
  documentSubmittedMessage,
  type DocumentLocation,
  type DocumentSubmitted,
  type StageName,
} from "@quire/contracts";
import type { JobStore, StageResult } from "@quire/jobs";
import { createS3LineWriter, type S3LineWriter } from "./s3-line-writer.ts";

/** Cache writes in flight while a check reads a batch's answers. */
const CACHE_WRITE_CONCURRENCY = 32;

/** AWS's per-job quotas for batch inference (reported defaults): records, and bytes per input file. */
export const BATCH_LIMITS = { minRecords: 100, maxRecords: 50_000, maxFileBytes: 1024 ** 3 } as const;

export interface BatchRunnerDependencies {
  bedrock: BedrockClient;
  s3: S3Client;
  jobs: Pick<JobStore, "listRunJobs" | "putCachedResult">;
  /** The document's text (inline, or its claim check). */
  loadText(document: DocumentLocation): Promise<string>;
  /** Publishes the run's `document.submitted`; answers the ones refused (the caller fails those jobs). */
  publish(messages: DocumentSubmitted[]): Promise<{ jobId: string; reason: string }[]>;
  /** Where the records and answers go: `s3://<bucket>/<prefix><runId>/…`. */
  bucket: string;
  prefix?: string;
  /** The service role Bedrock assumes to read the input and write the output. */
  roleArn: string;
  modelId: string;
  taxonomy: readonly string[];
  /** The on-demand stages' prompt versions: the result cache keys they look up. */
  promptVersions: { summary: string; classification: string };
  limits?: Partial<typeof BATCH_LIMITS>;
}

/** What `submit` started, carried to `check` (in the message that schedules it). */
export interface BatchSubmission {
  runId: string;
  /** One per batch job: its ARN, the stage it answers. Empty when the run had too few records for a job. */
  jobs: { stage: StageName; jobArn: string }[];
}

export type BatchCheck =
  | { state: "running"; statuses: ModelInvocationJobStatus[] }
  | {
      state: "published";
      cached: number;
      refused: number;
      published: number;
      failedToPublish: { jobId: string; reason: string }[];
    };

const ENDED = new Set<string>(["Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"]);
/** States whose output holds answers (some, for a job stopped or out of time). */
const WITH_OUTPUT = new Set<string>(["Completed", "PartiallyCompleted", "Stopped"]);

/**
 * A batch job's timeout for a run that falls back to on demand at `fallbackAt`: the hours until
 * then, within AWS's 24–168. The batcher stops the jobs at the fallback itself; the timeout makes
 * Bedrock end them too should its checks be late (AWS's default, 168 h, would keep a job a week).
 */
export function batchTimeoutHours(fallbackAt: string, now = Date.now()): number {
  const hours = Math.ceil((Date.parse(fallbackAt) - now) / 3_600_000);
  return Math.min(168, Math.max(24, hours));
}

export function createBatchRunner(deps: BatchRunnerDependencies) {
  const limits = { ...BATCH_LIMITS, ...deps.limits };
  const prefix = deps.prefix ?? "batch/";
  const base = (runId: string) => `${prefix}${runId}/`;

  async function startJob(
    runId: string,
    stage: StageName,
    index: number,
    key: string,
    timeoutHours: number | undefined,
  ): Promise<string> {
    // The same run, stage and part always asks with the same token: a redelivered submit gets the job it started.
    const token = createHash("sha256").update(`${runId}/${stage}/${index}`).digest("hex").slice(0, 64);
    const { jobArn } = await deps.bedrock.send(
      new CreateModelInvocationJobCommand({
        jobName: `quire-${runId.replace(/[^a-zA-Z0-9]/g, "-")}-${stage}-${index}`.slice(0, 63),
        clientRequestToken: token,
        roleArn: deps.roleArn,
        modelId: deps.modelId,
        modelInvocationType: "Converse",
        inputDataConfig: { s3InputDataConfig: { s3Uri: `s3://${deps.bucket}/${key}`, s3InputFormat: "JSONL" } },
        outputDataConfig: { s3OutputDataConfig: { s3Uri: `s3://${deps.bucket}/${base(runId)}${stage}/output/` } },
        ...(timeoutHours !== undefined ? { timeoutDurationInHours: timeoutHours } : {}),
      }),
    );
    return jobArn!;
  }

  /**
   * Asks the run's batch jobs to stop (the deadline fallback): a stopped job keeps the answers
   * it has, and `check` then reads those and publishes the run, the rest to run on demand.
   * A job that has already ended is left alone.
   */
  async function stop(submission: BatchSubmission): Promise<void> {
    for (const { jobArn } of submission.jobs) {
      const job = await deps.bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }));
      if (ENDED.has(job.status!) || job.status === "Stopping") continue;
      try {
        await deps.bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: jobArn }));
      } catch (error) {
        // It ended between the two calls: nothing to stop.
        if ((error as Error).name !== "ConflictException") throw error;
      }
    }
  }

  return {
    /**
     * Writes the run's records and starts its batch jobs. A stage with fewer distinct documents than
     * a job's minimum gets no job: its stage runs on demand once `check` publishes the run.
     */
    async submit(runId: string, options: { fallbackAt?: string | undefined } = {}): Promise<BatchSubmission> {
      const started: BatchSubmission["jobs"] = [];
      const timeoutHours = options.fallbackAt ? batchTimeoutHours(options.fallbackAt) : undefined;
      // Per stage: the content already written (one record per distinct content: the cache is keyed
      // by it, so duplicates share the answer), the file being written, how many files so far.
      const stages = {
        summary: { seen: new Set<string>(), file: undefined as S3LineWriter | undefined, files: 0 },
        classification: { seen: new Set<string>(), file: undefined as S3LineWriter | undefined, files: 0 },
      };
      /** A finished file becomes a job, unless it has too few records for one (they go on demand). */
      const close = async (stage: StageName) => {
        const { file } = stages[stage];
        if (!file) return;
        stages[stage].file = undefined;
        await file.end();
        if (file.lines >= limits.minRecords)
          started.push({
            stage,
            jobArn: await startJob(runId, stage, stages[stage].files - 1, file.key, timeoutHours),
          });
      };
      try {
        // A page of the run's jobs at a time, each record streamed into its stage's file: a run of
        // 100,000 documents is never in memory whole.
        let cursor: string | undefined;
        do {
          const page = await deps.jobs.listRunJobs(runId, { limit: 1000, ...(cursor ? { cursor } : {}) });
          cursor = page.cursor;
          for (const job of page.jobs) {
            if (job.status !== "pending" && job.status !== "processing") continue;
            const wanted = job.stages.filter((stage) => !stages[stage].seen.has(job.contentSha256));
            if (wanted.length === 0) continue;
            const text = await deps.loadText(job.document);
            for (const stage of wanted) {
              stages[stage].seen.add(job.contentSha256);
              const record =
                stage === "summary"
                  ? summaryRecord(job.contentSha256, text)
                  : classificationRecord(job.contentSha256, text, deps.taxonomy);
              // (No summary record for a text longer than one call: it is summarised in parts, on demand.)
              if (!record) continue;
              const line = JSON.stringify(record);
              const state = stages[stage];
              if (
                state.file &&
                (state.file.lines >= limits.maxRecords ||
                  state.file.bytes + Buffer.byteLength(line) + 1 > limits.maxFileBytes)
              )
                await close(stage);
              state.file ??= await createS3LineWriter(
                deps.s3,
                deps.bucket,
                `${base(runId)}${stage}/input-${state.files++}.jsonl`,
              );
              await state.file.write(line);
            }
          }
        } while (cursor);
        await close("summary");
        await close("classification");
      } catch (error) {
        // A caller that gives up on the batch runs the run on demand: a job already started would
        // only be paid for twice. (A retried submit starts the same jobs again: the same tokens.)
        for (const stage of ["summary", "classification"] as const) await stages[stage].file?.abort().catch(() => {});
        await stop({ runId, jobs: started }).catch(() => undefined);
        throw error;
      }
      return { runId, jobs: started };
    },

    stop,

    /**
     * Whether the run's batch jobs have all ended; once they have, their answers go into the result
     * cache and the run is published for its stages to complete (see the top of this file).
     */
    async check(submission: BatchSubmission): Promise<BatchCheck> {
      const statuses: { stage: StageName; jobArn: string; status: ModelInvocationJobStatus }[] = [];
      for (const { stage, jobArn } of submission.jobs) {
        const job = await deps.bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }));
        statuses.push({ stage, jobArn, status: job.status! });
      }
      if (statuses.some((job) => !ENDED.has(job.status))) {
        return { state: "running", statuses: statuses.map((job) => job.status) };
      }
      let cached = 0;
      let refused = 0;
      for (const { stage, jobArn, status } of statuses) {
        if (!WITH_OUTPUT.has(status)) continue;
        const outputPrefix = `${base(submission.runId)}${stage}/output/${jobArn.slice(jobArn.lastIndexOf("/") + 1)}/`;
        for (const key of await outputFiles(outputPrefix)) {
          const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
          // A line at a time (an output file may be as large as its 1 GB input), the cache writes
          // CACHE_WRITE_CONCURRENCY at a time (a run of 100,000 documents writes 200,000 answers).
          const writes = new Set<Promise<void>>();
          let failure: unknown;
          for await (const text of createInterface({ input: object.Body as Readable, crlfDelay: Infinity })) {
            if (failure !== undefined) break;
            if (text.trim().length === 0) continue;
            const line = parseOutputLine(text);
            if (!line) {
              refused++;
              continue;
            }
            const answer =
              stage === "summary"
                ? readSummaryAnswer(line, deps.modelId)
                : readClassificationAnswer(line, deps.modelId, deps.taxonomy);
            if (!answer.ok) {
              refused++;
              continue;
            }
            const write = deps.jobs
              .putCachedResult(
                {
                  contentSha256: line.recordId,
                  stage,
                  promptVersion: deps.promptVersions[stage],
                  modelId: deps.modelId,
                },
                answer.result as StageResult<typeof stage>,
              )
              .then(
                () => {
                  cached++;
                },
                (error: unknown) => {
                  failure ??= error;
                },
              )
              .finally(() => writes.delete(write));
            writes.add(write);
            if (writes.size >= CACHE_WRITE_CONCURRENCY) await Promise.race(writes);
          }
          await Promise.all(writes);
          if (failure !== undefined) throw failure;
        }
      }
      // A page of the run's jobs at a time, published as it is read.
      let published = 0;
      const failedToPublish: { jobId: string; reason: string }[] = [];
      let cursor: string | undefined;
      do {
        const page = await deps.jobs.listRunJobs(submission.runId, { limit: 1000, ...(cursor ? { cursor } : {}) });
        cursor = page.cursor;
        const messages = page.jobs
          .filter((job) => job.status === "pending" || job.status === "processing")
          .map((job) =>
            documentSubmittedMessage({
              jobId: job.jobId,
              ...(job.runId ? { runId: job.runId } : {}),
              submittedAt: job.submittedAt,
              ...(job.title !== undefined ? { title: job.title } : {}),
              ...(job.metadata !== undefined ? { metadata: job.metadata } : {}),
              contentSha256: job.contentSha256,
              document: job.document,
              stages: job.stages,
              priority: "bulk",
            }),
          );
        if (messages.length === 0) continue;
        const refusedMessages = await deps.publish(messages);
        failedToPublish.push(...refusedMessages);
        published += messages.length - refusedMessages.length;
      } while (cursor);
      return { state: "published", cached, refused, published, failedToPublish };
    },
  };

  async function outputFiles(outputPrefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await deps.s3.send(
        new ListObjectsV2Command({
          Bucket: deps.bucket,
          Prefix: outputPrefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key?.endsWith(".jsonl.out")) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
}

export type BatchRunner = ReturnType<typeof createBatchRunner>;
