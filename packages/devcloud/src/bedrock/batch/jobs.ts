/**
 * Bedrock batch inference jobs (CreateModelInvocationJob and its kin), run on devcloud's own S3
 * and model, so a pipeline that hands work to batch inference runs offline and in specs.
 *
 * A job walks AWS's states — Submitted → Validating → Scheduled → InProgress → Completed (or
 * Failed, Stopping → Stopped, Expired, PartiallyCompleted) — on a time-scaled clock:
 * - Validating reads the input (one `.jsonl` object, or every `.jsonl` under a prefix) and checks
 *   what AWS checks then: JSON lines with a `modelInput` object, the per-model quotas on records and
 *   bytes. A job that breaks them ends Failed with a message; records are not checked against the
 *   model here (AWS does not either).
 * - InProgress answers each record with the local model, in Converse format: a record the model
 *   would refuse (or with `toolConfig`, which Converse batch jobs do not support) gets a per-record
 *   `error` with a 400 code; `recordFailureRate` of the others get a 500. Records are processed at
 *   `recordsPerSecond`; a job still running at its timeout ends PartiallyCompleted.
 * - The output goes to `<output prefix>/<job id>/`: one `<input file name>.out` per input file, its
 *   records in no particular order (AWS guarantees none), and `manifest.json.out` with the counts
 *   and tokens.
 * Each state change is announced as `aws.bedrock` "Batch Inference Job State Change" on the
 * default event bus (best effort, as AWS's), so pollers and event rules both work.
 */
import { randomBytes } from "node:crypto";
import type { BatchOptions } from "../config.ts";
import { hashSeed, mulberry32, type RandomSource } from "../faults.ts";
import { BedrockError } from "../wire.ts";

export type BatchJobStatus =
  | "Submitted"
  | "Validating"
  | "Scheduled"
  | "InProgress"
  | "Completed"
  | "PartiallyCompleted"
  | "Failed"
  | "Stopping"
  | "Stopped"
  | "Expired";

const TERMINAL: ReadonlySet<BatchJobStatus> = new Set([
  "Completed",
  "PartiallyCompleted",
  "Failed",
  "Stopped",
  "Expired",
]);

export interface BatchJob {
  jobArn: string;
  jobId: string;
  jobName: string;
  roleArn: string;
  modelId: string;
  clientRequestToken?: string;
  modelInvocationType: "Converse";
  inputDataConfig: { s3InputDataConfig: { s3Uri: string; s3InputFormat?: string; s3BucketOwner?: string } };
  outputDataConfig: { s3OutputDataConfig: { s3Uri: string; s3EncryptionKeyId?: string; s3BucketOwner?: string } };
  timeoutDurationInHours: number;
  vpcConfig?: unknown;
  status: BatchJobStatus;
  message?: string;
  /** Epoch ms (devcloud's clock). */
  submitTime: number;
  lastModifiedTime: number;
  endTime?: number;
  /** When the job expires: its timeout, time-scaled. */
  jobExpirationTime: number;
  totalRecordCount?: number;
  processedRecordCount?: number;
  successRecordCount?: number;
  errorRecordCount?: number;
}

/** One record's answer from the model. */
export type RecordAnswer =
  | { ok: true; modelOutput: unknown; inputTokens: number; outputTokens: number }
  | { ok: false; errorCode: number; errorMessage: string };

/** What the jobs need from the rest of devcloud: its S3, its model, its event bus, its clock. */
export interface BatchDependencies {
  readonly storage: BatchStorage;
  /** Answers one record's Converse-format `modelInput` as `modelId` would (no quota, no latency: the job's pace is the batch's own). */
  answer(modelId: string, modelInput: Record<string, unknown>): RecordAnswer;
  /** Whether `modelId` names a model devcloud serves. */
  knowsModel(modelId: string): boolean;
  /** Puts an `aws.bedrock` event on the default bus; failures are the caller's to swallow. */
  announce(detailType: string, detail: Record<string, unknown>, resources: string[]): Promise<void>;
  /** Jobs changed: persist them (a data dir) or not. */
  save?(jobs: BatchJob[]): void;
  now?: () => number;
}

export interface BatchStorage {
  /** Objects under `prefix` in `bucket` (keys and sizes); rejects naming the problem when the bucket is missing. */
  list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]>;
  get(bucket: string, key: string): Promise<string>;
  put(bucket: string, key: string, body: string): Promise<void>;
}

export interface CreateJobInput {
  jobName?: unknown;
  roleArn?: unknown;
  clientRequestToken?: unknown;
  modelId?: unknown;
  inputDataConfig?: unknown;
  outputDataConfig?: unknown;
  vpcConfig?: unknown;
  timeoutDurationInHours?: unknown;
  tags?: unknown;
  modelInvocationType?: unknown;
}

export interface ListJobsInput {
  statusEquals?: string | undefined;
  nameContains?: string | undefined;
  submitTimeAfter?: number | undefined;
  submitTimeBefore?: number | undefined;
  sortOrder?: "Ascending" | "Descending" | undefined;
  maxResults?: number | undefined;
  nextToken?: string | undefined;
}

// Patterns and bounds from the Bedrock API model (service-2.json, 2023-04-20).
const JOB_NAME = /^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$/;
const ROLE_ARN = /^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role\/.+$/;
const CLIENT_TOKEN = /^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$/;
const S3_URI = /^s3:\/\/[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:\/[-!_*'().a-z0-9A-Z]+(?:\/[-!_*'().a-z0-9A-Z]+)*)?\/?$/;
const JOB_IDENTIFIER = /^((arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job\/)?[a-z0-9]{12})$/;
const STATUSES: ReadonlySet<string> = new Set([
  "Submitted",
  "Validating",
  "Scheduled",
  "InProgress",
  "Completed",
  "PartiallyCompleted",
  "Failed",
  "Stopping",
  "Stopped",
  "Expired",
]);

/** An error of the batch API's model: ValidationException, ConflictException, ResourceNotFoundException, ServiceQuotaExceededException. */
const invalid = (message: string) => new BedrockError("ValidationException", message);

export interface BatchJobs {
  create(input: CreateJobInput): { jobArn: string };
  get(identifier: string): BatchJob;
  list(input: ListJobsInput): { jobs: BatchJob[]; nextToken?: string };
  stop(identifier: string): void;
  /** Resumes the jobs of a previous devcloud (from the data dir): each unfinished one starts over from Validating. */
  restore(jobs: BatchJob[]): void;
  close(): void;
}

export function createBatchJobs(
  options: BatchOptions & { timeScale: number; seed: number; region: string; account: string },
  dependencies: BatchDependencies,
): BatchJobs {
  const now = dependencies.now ?? Date.now;
  const jobs = new Map<string, BatchJob>();
  const byToken = new Map<string, string>();
  const stopRequests = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  /** Per job waiting in a queue (Submitted, Scheduled): ends its wait at once when it is asked to stop. */
  const wakeOnStop = new Map<string, () => void>();

  /**
   * Waits `simulatedSeconds` of batch time, scaled; resolves early (false) once devcloud closes,
   * and (true) when `stoppable`'s job is asked to stop: a job still queued stops at once, as on AWS.
   */
  const wait = (simulatedSeconds: number, stoppable?: BatchJob) =>
    new Promise<boolean>((resolve) => {
      if (closed) return resolve(false);
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          if (stoppable) wakeOnStop.delete(stoppable.jobId);
          resolve(!closed);
        },
        Math.max(0, simulatedSeconds * 1000 * options.timeScale),
      );
      timers.add(timer);
      if (stoppable) {
        wakeOnStop.set(stoppable.jobId, () => {
          clearTimeout(timer);
          timers.delete(timer);
          wakeOnStop.delete(stoppable.jobId);
          resolve(!closed);
        });
      }
    });

  const save = () => dependencies.save?.([...jobs.values()]);

  function transition(job: BatchJob, status: BatchJobStatus, message?: string) {
    job.status = status;
    job.lastModifiedTime = now();
    if (message !== undefined) job.message = message;
    if (TERMINAL.has(status)) job.endTime = job.lastModifiedTime;
    save();
    // Best effort, as AWS's: a bus that is not there (or refuses) loses the event, never the job.
    dependencies
      .announce(
        "Batch Inference Job State Change",
        {
          version: "0.0",
          accountId: options.account,
          batchJobName: job.jobName,
          batchJobArn: job.jobArn,
          batchModelId: job.modelId,
          status,
          failureMessage: status === "Failed" ? (job.message ?? "") : "",
          creationTime: new Date(job.submitTime).toISOString(),
        },
        [job.jobArn],
      )
      .catch(() => {});
  }

  function jobOf(identifier: string): BatchJob {
    if (!JOB_IDENTIFIER.test(identifier)) {
      throw invalid(
        `1 validation error detected: Value '${identifier}' at 'jobIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ${JOB_IDENTIFIER.source}`,
      );
    }
    const job = jobs.get(identifier.slice(-12));
    if (!job) throw new BedrockError("ResourceNotFoundException", `Could not find model invocation job ${identifier}.`);
    return job;
  }

  /** Reads and checks the input; the records by file, or a reason to fail the job. */
  async function readInput(job: BatchJob): Promise<{ files: InputFile[] } | { failure: string }> {
    const { bucket, key } = splitS3Uri(job.inputDataConfig.s3InputDataConfig.s3Uri);
    let objects: { key: string; size: number }[];
    try {
      objects = key.endsWith(".jsonl")
        ? (await dependencies.storage.list(bucket, key)).filter((object) => object.key === key)
        : (await dependencies.storage.list(bucket, key)).filter((object) => object.key.endsWith(".jsonl"));
    } catch (error) {
      return {
        failure: `Unable to access the input S3 location ${job.inputDataConfig.s3InputDataConfig.s3Uri}: ${(error as Error).message}`,
      };
    }
    if (objects.length === 0) {
      return { failure: `No .jsonl input file found at ${job.inputDataConfig.s3InputDataConfig.s3Uri}.` };
    }
    const totalBytes = objects.reduce((sum, object) => sum + object.size, 0);
    if (totalBytes > options.maxJobBytes) {
      return {
        failure: `The input is ${totalBytes} bytes, over the batch inference job size quota of ${options.maxJobBytes} bytes.`,
      };
    }
    const files: InputFile[] = [];
    let records = 0;
    for (const object of objects) {
      if (object.size > options.maxInputFileBytes) {
        return {
          failure: `Input file ${object.key} is ${object.size} bytes, over the batch inference input file size quota of ${options.maxInputFileBytes} bytes.`,
        };
      }
      const text = await dependencies.storage.get(bucket, object.key);
      const lines = text.split("\n").filter((line) => line.trim().length > 0);
      if (lines.length > options.maxRecordsPerFile) {
        return {
          failure: `Input file ${object.key} has ${lines.length} records, over the quota of ${options.maxRecordsPerFile} records per input file.`,
        };
      }
      const parsed: InputRecord[] = [];
      for (const [index, line] of lines.entries()) {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          return { failure: `Input file ${object.key}, line ${index + 1}: not valid JSON.` };
        }
        const modelInput = (value as { modelInput?: unknown } | null)?.modelInput;
        if (
          typeof value !== "object" ||
          value === null ||
          typeof modelInput !== "object" ||
          modelInput === null ||
          Array.isArray(modelInput)
        ) {
          return { failure: `Input file ${object.key}, line ${index + 1}: each record needs a modelInput object.` };
        }
        const recordId = (value as { recordId?: unknown }).recordId;
        parsed.push({
          // A record without an id gets one, as Bedrock adds it in the output.
          recordId: typeof recordId === "string" && recordId.length > 0 ? recordId : generatedRecordId(),
          modelInput: modelInput as Record<string, unknown>,
        });
      }
      records += parsed.length;
      files.push({ name: object.key.slice(object.key.lastIndexOf("/") + 1), records: parsed });
    }
    if (records < options.minRecordsPerJob) {
      return {
        failure: `The job has ${records} records, below the minimum of ${options.minRecordsPerJob} records per batch inference job.`,
      };
    }
    if (records > options.maxRecordsPerJob) {
      return {
        failure: `The job has ${records} records, over the quota of ${options.maxRecordsPerJob} records per batch inference job.`,
      };
    }
    return { files };
  }

  async function run(job: BatchJob): Promise<void> {
    if (!(await wait(options.submittedSeconds, job))) return;
    if (stopRequests.has(job.jobId)) return finishStopped(job);
    transition(job, "Validating");
    const input = await readInput(job);
    if ("failure" in input) return transition(job, "Failed", input.failure);
    job.totalRecordCount = input.files.reduce((sum, file) => sum + file.records.length, 0);
    job.processedRecordCount = 0;
    job.successRecordCount = 0;
    job.errorRecordCount = 0;
    transition(job, "Scheduled");
    if (!(await wait(options.scheduledSeconds, job))) return;
    if (stopRequests.has(job.jobId)) return finishStopped(job);
    if (now() >= job.jobExpirationTime) return transition(job, "Expired", "The job did not start before its timeout.");
    transition(job, "InProgress");

    const random = mulberry32(hashSeed(options.seed, job.jobId, "batch"));
    const outputs = input.files.map((file) => ({ name: file.name, lines: [] as string[] }));
    const tokens = { input: 0, output: 0 };
    const chunk = Math.max(1, Math.round(options.recordsPerSecond));
    let ending: "Completed" | "PartiallyCompleted" | "Stopped" = "Completed";
    outer: for (const [fileIndex, file] of input.files.entries()) {
      for (let i = 0; i < file.records.length; i += chunk) {
        for (const record of file.records.slice(i, i + chunk)) {
          const answer = answerRecord(job.modelId, record, random);
          if (answer.ok) {
            tokens.input += answer.inputTokens;
            tokens.output += answer.outputTokens;
            job.successRecordCount!++;
            outputs[fileIndex]!.lines.push(
              JSON.stringify({
                recordId: record.recordId,
                modelInput: record.modelInput,
                modelOutput: answer.modelOutput,
              }),
            );
          } else {
            job.errorRecordCount!++;
            outputs[fileIndex]!.lines.push(
              JSON.stringify({
                recordId: record.recordId,
                modelInput: record.modelInput,
                error: { errorCode: answer.errorCode, errorMessage: answer.errorMessage },
              }),
            );
          }
          job.processedRecordCount!++;
        }
        job.lastModifiedTime = now();
        if (!(await wait(Math.min(chunk, file.records.length - i) / options.recordsPerSecond))) return;
        if (stopRequests.has(job.jobId)) {
          ending = "Stopped";
          break outer;
        }
        if (now() >= job.jobExpirationTime) {
          ending = "PartiallyCompleted";
          break outer;
        }
      }
    }
    await writeOutput(job, outputs, random, tokens);
    if (ending === "Stopped") return transition(job, "Stopped");
    if (ending === "PartiallyCompleted")
      return transition(job, "PartiallyCompleted", "Not all records could be processed before the job's timeout.");
    transition(job, "Completed");
  }

  function answerRecord(modelId: string, record: InputRecord, random: RandomSource): RecordAnswer {
    if ("toolConfig" in record.modelInput) {
      return {
        ok: false,
        errorCode: 400,
        errorMessage: "toolConfig is not supported by Converse batch inference jobs.",
      };
    }
    const answer = dependencies.answer(modelId, record.modelInput);
    // Drawn for every record the model answered, so the sequence depends only on the records.
    const fails = random() < options.recordFailureRate;
    if (answer.ok && fails) {
      return { ok: false, errorCode: 500, errorMessage: "The model encountered an error processing this record." };
    }
    return answer;
  }

  async function writeOutput(
    job: BatchJob,
    outputs: { name: string; lines: string[] }[],
    random: RandomSource,
    tokens: { input: number; output: number },
  ) {
    const { bucket, key } = splitS3Uri(job.outputDataConfig.s3OutputDataConfig.s3Uri);
    const prefix = `${key && !key.endsWith("/") ? `${key}/` : key}${job.jobId}/`;
    for (const output of outputs) {
      // No order guaranteed: a reader that relies on the input's order finds out here, not in AWS.
      const lines = shuffle(output.lines, random);
      await dependencies.storage.put(
        bucket,
        `${prefix}${output.name}.out`,
        lines.length ? `${lines.join("\n")}\n` : "",
      );
    }
    await dependencies.storage.put(
      bucket,
      `${prefix}manifest.json.out`,
      JSON.stringify({
        totalRecordCount: job.totalRecordCount,
        processedRecordCount: job.processedRecordCount,
        successRecordCount: job.successRecordCount,
        errorRecordCount: job.errorRecordCount,
        inputTokenCount: tokens.input,
        outputTokenCount: tokens.output,
      }),
    );
  }

  function finishStopped(job: BatchJob) {
    transition(job, "Stopped");
  }

  function start(job: BatchJob) {
    run(job).catch((error: unknown) => {
      if (!TERMINAL.has(job.status))
        transition(job, "Failed", `devcloud failed running the job: ${(error as Error).message}`);
    });
  }

  function parseCreate(
    input: CreateJobInput,
  ): Omit<BatchJob, "jobArn" | "jobId" | "status" | "submitTime" | "lastModifiedTime" | "jobExpirationTime"> {
    const jobName = requiredString(input.jobName, "jobName");
    if (!JOB_NAME.test(jobName) || jobName.length > 63)
      throw invalid(
        `1 validation error detected: Value '${jobName}' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ${JOB_NAME.source}`,
      );
    const roleArn = requiredString(input.roleArn, "roleArn");
    if (!ROLE_ARN.test(roleArn))
      throw invalid(
        `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ${ROLE_ARN.source}`,
      );
    const modelId = requiredString(input.modelId, "modelId");
    if (!dependencies.knowsModel(modelId)) throw invalid("The provided model identifier is invalid.");
    const invocationType = input.modelInvocationType ?? "InvokeModel";
    if (invocationType !== "Converse") {
      throw invalid(
        invocationType === "InvokeModel"
          ? 'devcloud runs Converse-format batch jobs only: set modelInvocationType to "Converse" (InvokeModel record bodies are each model\'s own format).'
          : `1 validation error detected: Value '${String(invocationType)}' at 'modelInvocationType' failed to satisfy constraint: Member must satisfy enum value set: [InvokeModel, Converse]`,
      );
    }
    const s3Input = (input.inputDataConfig as { s3InputDataConfig?: Record<string, unknown> } | undefined)
      ?.s3InputDataConfig;
    const s3Output = (input.outputDataConfig as { s3OutputDataConfig?: Record<string, unknown> } | undefined)
      ?.s3OutputDataConfig;
    if (!s3Input) throw invalid("inputDataConfig must have s3InputDataConfig.");
    if (!s3Output) throw invalid("outputDataConfig must have s3OutputDataConfig.");
    for (const [uri, field] of [
      [s3Input.s3Uri, "inputDataConfig.s3InputDataConfig.s3Uri"],
      [s3Output.s3Uri, "outputDataConfig.s3OutputDataConfig.s3Uri"],
    ] as const) {
      const value = requiredString(uri, field);
      if (!S3_URI.test(value))
        throw invalid(
          `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${S3_URI.source}`,
        );
    }
    if (s3Input.s3InputFormat !== undefined && s3Input.s3InputFormat !== "JSONL")
      throw invalid(
        `1 validation error detected: Value '${String(s3Input.s3InputFormat)}' at 'inputDataConfig.s3InputDataConfig.s3InputFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSONL]`,
      );
    const timeout = input.timeoutDurationInHours ?? 168;
    if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 24 || timeout > 168)
      throw invalid(
        `1 validation error detected: Value '${String(timeout)}' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value between 24 and 168`,
      );
    const token = input.clientRequestToken;
    if (token !== undefined && (typeof token !== "string" || !CLIENT_TOKEN.test(token)))
      throw invalid(
        `1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must satisfy regular expression pattern: ${CLIENT_TOKEN.source}`,
      );
    return {
      jobName,
      roleArn,
      modelId,
      ...(typeof token === "string" ? { clientRequestToken: token } : {}),
      modelInvocationType: "Converse",
      inputDataConfig: { s3InputDataConfig: s3Input as BatchJob["inputDataConfig"]["s3InputDataConfig"] },
      outputDataConfig: { s3OutputDataConfig: s3Output as BatchJob["outputDataConfig"]["s3OutputDataConfig"] },
      timeoutDurationInHours: timeout,
      ...(input.vpcConfig !== undefined ? { vpcConfig: input.vpcConfig } : {}),
    };
  }

  return {
    create(input) {
      const fields = parseCreate(input);
      // The same token again: the job it made, no new one (AWS ignores the request, without an error).
      const existing = fields.clientRequestToken ? byToken.get(fields.clientRequestToken) : undefined;
      if (existing) return { jobArn: jobs.get(existing)!.jobArn };
      const active = [...jobs.values()].filter((job) => job.modelId === fields.modelId && !TERMINAL.has(job.status));
      if (active.length >= options.maxActiveJobsPerModel) {
        throw new BedrockError(
          "ServiceQuotaExceededException",
          `You have reached the quota of ${options.maxActiveJobsPerModel} batch inference jobs in progress for ${fields.modelId}. Wait for one to finish, or stop one.`,
        );
      }
      if ([...jobs.values()].some((job) => job.jobName === fields.jobName))
        throw new BedrockError("ConflictException", `A model invocation job named ${fields.jobName} already exists.`);
      const jobId = randomJobId();
      const submitTime = now();
      const job: BatchJob = {
        ...fields,
        jobId,
        jobArn: `arn:aws:bedrock:${options.region}:${options.account}:model-invocation-job/${jobId}`,
        status: "Submitted",
        submitTime,
        lastModifiedTime: submitTime,
        jobExpirationTime: submitTime + fields.timeoutDurationInHours * 3_600_000 * options.timeScale,
      };
      jobs.set(jobId, job);
      if (job.clientRequestToken) byToken.set(job.clientRequestToken, jobId);
      transition(job, "Submitted");
      start(job);
      return { jobArn: job.jobArn };
    },

    get: jobOf,

    list(input) {
      if (input.statusEquals !== undefined && !STATUSES.has(input.statusEquals))
        throw invalid(
          `1 validation error detected: Value '${input.statusEquals}' at 'statusEquals' failed to satisfy constraint: Member must satisfy enum value set: [${[...STATUSES].join(", ")}]`,
        );
      const maxResults = input.maxResults ?? 1000;
      if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 1000)
        throw invalid(
          `1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000`,
        );
      const matching = [...jobs.values()]
        .filter(
          (job) =>
            (input.statusEquals === undefined || job.status === input.statusEquals) &&
            (input.nameContains === undefined || job.jobName.includes(input.nameContains)) &&
            (input.submitTimeAfter === undefined || job.submitTime > input.submitTimeAfter) &&
            (input.submitTimeBefore === undefined || job.submitTime < input.submitTimeBefore),
        )
        .sort(
          (a, b) =>
            (input.sortOrder === "Ascending" ? 1 : -1) *
            (a.submitTime - b.submitTime || a.jobId.localeCompare(b.jobId)),
        );
      const offset =
        input.nextToken === undefined ? 0 : Number.parseInt(Buffer.from(input.nextToken, "base64url").toString(), 10);
      if (!Number.isInteger(offset) || offset < 0) throw invalid("The nextToken is not valid.");
      const page = matching.slice(offset, offset + maxResults);
      const next = offset + page.length;
      return {
        jobs: page,
        ...(next < matching.length ? { nextToken: Buffer.from(String(next)).toString("base64url") } : {}),
      };
    },

    stop(identifier) {
      const job = jobOf(identifier);
      if (TERMINAL.has(job.status) || job.status === "Stopping") {
        throw new BedrockError("ConflictException", `The model invocation job is ${job.status} and cannot be stopped.`);
      }
      stopRequests.add(job.jobId);
      transition(job, "Stopping");
      wakeOnStop.get(job.jobId)?.();
    },

    restore(saved) {
      for (const job of saved) {
        jobs.set(job.jobId, job);
        if (job.clientRequestToken) byToken.set(job.clientRequestToken, job.jobId);
        if (job.status === "Stopping") transition(job, "Stopped");
        else if (!TERMINAL.has(job.status)) start(job);
      }
    },

    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

interface InputRecord {
  recordId: string;
  modelInput: Record<string, unknown>;
}
interface InputFile {
  name: string;
  records: InputRecord[];
}

function requiredString(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

export function splitS3Uri(uri: string): { bucket: string; key: string } {
  const rest = uri.slice("s3://".length);
  const slash = rest.indexOf("/");
  return slash < 0 ? { bucket: rest, key: "" } : { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
function randomJobId(): string {
  return [...randomBytes(12)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join("");
}
function generatedRecordId(): string {
  return [...randomBytes(11)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]!.toUpperCase()).join("");
}

function shuffle<T>(items: T[], random: RandomSource): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
