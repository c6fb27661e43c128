import { DEFAULT_MODEL_ID, DEFAULT_PRICES, pricedUsage, type PriceTable } from "@quire/bedrock";
import {
  classificationResult,
  documentMetadata,
  failureReason,
  isoTimestamp,
  jobId as jobIdSchema,
  METADATA_MAX_BYTES,
  METADATA_MAX_KEY_LENGTH,
  METADATA_MAX_KEYS,
  METADATA_MAX_STRING_LENGTH,
  METADATA_RESERVED_KEYS,
  METADATA_TOO_LARGE,
  runId as runIdSchema,
  stageName,
  summaryResult,
  TITLE_MAX_LENGTH,
  type StageName,
} from "@quire/contracts";
import {
  InvalidCursorError,
  jobStatus,
  keptResults,
  runDeadlineAt,
  stageStatus,
  type Job,
  type JobStore,
  type Run,
  type GovernorReportStore,
} from "@quire/jobs";
import { z } from "@hono/zod-openapi";
import {
  ApiError,
  BAD_JSON_BODY,
  BodyBudget,
  callerOf,
  ConcurrencyLimiter,
  createApiApp,
  defineRoute,
  errorResponses,
  INTERNAL,
  json,
  jsonBody,
  keyScope,
  limitBody,
  NOT_JSON,
  payloadTooLarge,
  reserveBody,
  UNAUTHORIZED,
  validationFailed,
  type ApiDescription,
} from "@quire/http-api";
import { quireEnvironmentSchema } from "@quire/config";
import {
  chooseInference,
  durationSeconds,
  onDemandThroughput,
  planRun,
  type InferenceSettings,
  type PlanningSettings,
} from "./planning.ts";
import type { ParseDocument, Submission } from "./submission.ts";
import { MAX_MANIFEST_DOCUMENTS, manifestIdSchema } from "./manifests.ts";
import type { DeadLetters } from "@quire/dead-letters";
import { registerDeadLetterRoutes } from "./dead-letter-routes.ts";
import { registerKeyRoutes } from "./key-routes.ts";
import { registerGovernorRoutes } from "./governor-routes.ts";
import { registerQueueRoutes, type QueueDepths } from "./queue-routes.ts";
import type { ApiKeys, Principal } from "@quire/api-keys";
import type { Context } from "hono";

export const MAX_WAIT_SECONDS = 30;
export const MAX_RUN_DOCUMENTS = 10_000;
/** The settings' defaults (packages/config), read from the one schema: what the committed openapi.json describes. */
const defaultOf = (
  setting: "QUIRE_MAX_DOCUMENT_BYTES" | "QUIRE_MAX_RUN_BODY_BYTES" | "QUIRE_MAX_INFLIGHT_BODY_BYTES",
) => quireEnvironmentSchema.shape[setting].parse(undefined);
export const DEFAULT_MAX_DOCUMENT_BYTES = defaultOf("QUIRE_MAX_DOCUMENT_BYTES");
/**
 * The largest POST /v1/runs body by default. A run's body is held whole while it is parsed and
 * its documents stored (about four times its size at the peak), so this bounds one request's
 * memory; in AWS, API Gateway refuses bodies over 10 MB first.
 */
export const DEFAULT_MAX_RUN_BODY_BYTES = defaultOf("QUIRE_MAX_RUN_BODY_BYTES");
/** All request bodies one process holds at once, by default. */
export const DEFAULT_INFLIGHT_BODY_BYTES = defaultOf("QUIRE_MAX_INFLIGHT_BODY_BYTES");
const BODIES_BUSY = {
  BUSY: "This server is holding as many large requests as it takes at once: retry after 1 s.",
};
/**
 * JSON escapes can make the body larger than the text: POST /v1/documents allows generous overhead and checks the text
 * itself after parsing.
 */
export const documentBodyLimit = (maxDocumentBytes: number) => maxDocumentBytes * 2 + 64 * 1024;

/** Caller metadata: the contract's schema, with its key rules spelled out for the document. */
const metadata = documentMetadata
  .meta({
    propertyNames: { minLength: 1, maxLength: METADATA_MAX_KEY_LENGTH, not: { enum: [...METADATA_RESERVED_KEYS] } },
    description: `Flat caller metadata, kept with the job and sent with its events: at most ${METADATA_MAX_KEYS} keys of 1 to ${METADATA_MAX_KEY_LENGTH} characters (${METADATA_RESERVED_KEYS.join(", ")} are reserved), each value a string of at most ${METADATA_MAX_STRING_LENGTH} characters, a number or a boolean, and at most ${METADATA_MAX_BYTES} bytes as JSON in all (over a count or size bound: 400 ${METADATA_TOO_LARGE}).`,
    example: { customer: "acme", priority: 2 },
  })
  .meta({ id: "Metadata" });

const documentFields = {
  text: z
    .string()
    .min(1, "text must not be empty")
    .meta({
      description: `The document. At most QUIRE_MAX_DOCUMENT_BYTES of UTF-8 (default ${DEFAULT_MAX_DOCUMENT_BYTES}; over it: 413 DOCUMENT_TOO_LARGE).`,
      example: "INVOICE 12. Amount due 99.00. Total due in 30 days.",
    }),
  title: z
    .string()
    .max(TITLE_MAX_LENGTH)
    .optional()
    .meta({ description: `At most ${TITLE_MAX_LENGTH} characters.`, example: "March invoice" }),
  metadata: metadata.optional(),
};
const documentInput = z
  .strictObject({
    ...documentFields,
    idempotencyKey: z.string().min(1).max(256).optional().meta({
      description:
        "Makes a retry safe: the same key with the same text, title and metadata answers with the job it created; with a different request, 409 IDEMPOTENCY_KEY_REUSED.",
      example: "invoice-2024-03-12",
    }),
  })
  .meta({ id: "DocumentInput" });
const runDocument = z.strictObject(documentFields).meta({ id: "RunDocumentInput" });
const runBudget = z
  .strictObject({
    // Spend is counted in millionths of a dollar: a smaller budget means nothing (and DynamoDB
    // cannot store 5e-324 at all).
    usd: z
      .number()
      .min(0.000001, "at least a millionth of a dollar")
      .max(1_000_000)
      .optional()
      .meta({ description: "US dollars, at the price table (0.000001 to 1,000,000).", example: 25 }),
    tokens: z
      .int()
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({ description: "Model tokens, input and output together.", example: 5_000_000 }),
  })
  .refine((budget) => budget.usd !== undefined || budget.tokens !== undefined, {
    message: "a budget names usd, tokens or both",
  })
  .meta({
    id: "RunBudget",
    description:
      "What the run may spend on the model. Once its counted spend reaches it, its stages stop calling the model: the jobs not yet done fail BUDGET_EXCEEDED (announced as usual, their messages dead-lettered with that reason). It can pass the budget by what the jobs then in progress spend, no more.",
  });

const runInput = z
  .strictObject({
    documents: z
      .array(runDocument)
      .min(1, "a run needs at least one document")
      .max(MAX_RUN_DOCUMENTS, `a run holds at most ${MAX_RUN_DOCUMENTS} documents`)
      .optional()
      .meta({ description: `The documents, in the body (1 to ${MAX_RUN_DOCUMENTS}). Either these or \`manifest\`.` }),
    manifest: manifestIdSchema.optional().meta({
      description: `A manifest uploaded with POST /v1/manifests (NDJSON, one RunDocumentInput per line, up to ${MAX_MANIFEST_DOCUMENTS} documents): read as a stream, every line checked before the run is accepted. Either this or \`documents\`.`,
    }),
    deadline: z.iso.duration().optional().meta({
      description:
        "An ISO 8601 duration (days, hours, minutes, seconds; no years or months) the run should finish within: the answer says whether the configured Bedrock quota allows it.",
      example: "PT30M",
    }),
    budget: runBudget.optional(),
    /** What to do when the deadline cannot be met at the configured quota: refuse (default) or run anyway. */
    mode: z.enum(["auto", "onDemand", "batch"]).default("auto").meta({
      description:
        "How the run's model calls are made. `onDemand`: Converse, one call at a time, as fast as the quota allows. `batch`: Bedrock batch inference, at about half the price, typically within hours; with a deadline, what the batch has not answered by the fallback time (the deadline minus the run's on-demand time) runs on demand. `auto` (the default): batch when the run has enough documents for a batch job, no budget, and a deadline that leaves room for the batch and the fallback, else on demand. A run with a budget cannot go batch (422 BATCH_NOT_AVAILABLE): its spend is checked before each model call, and a batch job is spent whole once submitted. The answer's `inference` says which, why, and what each option is expected to take and cost.",
    }),
    onInfeasibleDeadline: z.enum(["reject", "accept"]).default("reject").meta({
      description:
        "When the deadline cannot be met at the configured quota: refuse with 422 DEADLINE_NOT_FEASIBLE (reject) or run anyway (accept).",
    }),
  })
  .refine((input) => (input.documents === undefined) !== (input.manifest === undefined), {
    message: "a run has documents or a manifest (one of them)",
    path: ["documents"],
  })
  .meta({ id: "RunInput" });

/** One manifest line as a run's document, or what is wrong with it. */
export const parseRunDocument: ParseDocument = (value) => {
  const parsed = runDocument.safeParse(value);
  if (parsed.success) return { ok: true, document: parsed.data };
  return {
    ok: false,
    message: parsed.error.issues.map((issue) => `${issue.path.join(".") || "(line)"}: ${issue.message}`).join("; "),
  };
};

const link = z.string().meta({ description: "A path on this API." });
const manifestUploadSchema = z
  .strictObject({
    manifestId: manifestIdSchema,
    upload: z.strictObject({
      method: z.literal("PUT"),
      url: z.string().meta({ description: "A presigned S3 URL: PUT the NDJSON there, as the body." }),
      expiresAt: isoTimestamp,
    }),
    links: z.strictObject({ runs: link }),
  })
  .meta({
    id: "ManifestUpload",
    description:
      "Where to upload a manifest: PUT the NDJSON (one RunDocumentInput per line) to `upload.url` before it expires, then POST /v1/runs { manifest: manifestId }.",
  });
const stageView = z.strictObject({
  status: stageStatus,
  attempts: z.int().nonnegative().meta({ description: "How many times the stage was started, retries included." }),
  startedAt: isoTimestamp.optional().meta({ description: "When the stage first started." }),
  completedAt: isoTimestamp.optional().meta({ description: "When the stage's result was recorded (status done)." }),
});
export const jobViewSchema = z
  .strictObject({
    jobId: jobIdSchema,
    runId: runIdSchema.optional(),
    status: jobStatus,
    title: z.string().max(TITLE_MAX_LENGTH).optional(),
    metadata: metadata.optional(),
    submittedAt: isoTimestamp,
    completedAt: isoTimestamp.optional(),
    summary: summaryResult.optional().meta({ description: "Once the summary stage is done." }),
    classification: classificationResult.optional().meta({ description: "Once the classification stage is done." }),
    error: failureReason.optional().meta({ description: "Why the job failed (status failed)." }),
    failedStage: stageName
      .optional()
      .meta({ description: "The stage that gave up (status failed, when a stage failed the job)." }),
    completionPublished: z.boolean().meta({
      description:
        "Whether the Job Completed event went out: false until then, and for a job that is not complete. A complete job still false is being announced (or its announcer crashed and a redelivery will).",
    }),
    stages: z.strictObject({ summary: stageView, classification: stageView }),
    usage: z
      .strictObject({
        inputTokens: z.int().nonnegative(),
        outputTokens: z.int().nonnegative(),
        costUsd: z.number().nonnegative().optional().meta({
          description:
            "At the price table (QUIRE_BEDROCK_PRICES over the defaults); absent when a result's model has no price.",
        }),
      })
      .optional()
      .meta({ description: "The model tokens of the results it has, and what they cost on demand." }),
    links: z.strictObject({ self: link, run: link.optional() }),
  })
  .meta({ id: "Job", description: "A document's job: its status, and its results once complete." });
export type JobView = z.output<typeof jobViewSchema>;

const planBase = { deadline: z.string().meta({ example: "PT30M" }), deadlineAt: isoTimestamp };
const deadlinePlan = z
  .union([
    z.strictObject({
      ...planBase,
      feasible: z.boolean(),
      expectedFinish: isoTimestamp,
      expectedSeconds: z.int().nonnegative(),
      requiredConcurrency: z.int().nonnegative(),
      callsPerMinute: z.int().nonnegative(),
      bindingConstraint: z.enum(["rpm", "tpm", "concurrency"]),
      assumptions: z.strictObject({
        requestsPerMinute: z.number().nullable(),
        tokensPerMinute: z.number().nullable(),
        meanLatencyMs: z.number(),
        callsPerDocument: z.int(),
      }),
    }),
    z.strictObject({ ...planBase, feasible: z.null(), reason: z.string() }),
  ])
  .meta({
    id: "DeadlinePlan",
    description:
      "Whether the run can finish by its deadline at the configured Bedrock quota (feasible null: no quota is configured, so it cannot be judged).",
  });

const inferenceOption = {
  expectedSeconds: z.int().nonnegative().optional(),
  expectedFinish: isoTimestamp.optional(),
  costUsd: z.number().nonnegative().optional().meta({
    description: "At the price table, for the tokens expected (absent when the model has no price).",
  }),
};
const inferencePlan = z
  .strictObject({
    mode: z.enum(["onDemand", "batch"]),
    why: z.string(),
    fallbackAt: isoTimestamp.optional().meta({
      description: "Batch with a deadline: when the batch is stopped and what it has not answered runs on demand.",
    }),
    expectedTokens: z.strictObject({ inputTokens: z.int().nonnegative(), outputTokens: z.int().nonnegative() }),
    options: z.strictObject({
      onDemand: z.strictObject(inferenceOption).meta({
        description: "Expected time only with a configured quota (QUIRE_BEDROCK_RPM / _TPM).",
      }),
      batch: z.strictObject({ available: z.boolean(), ...inferenceOption }),
    }),
  })
  .meta({
    id: "InferencePlan",
    description:
      "How the run's model calls are made (on demand or batch inference), why, and what each option is expected to take and cost. The tokens are an estimate from the documents' length.",
  });

export const runSubmittedSchema = z
  .strictObject({
    runId: runIdSchema,
    total: z.int().positive().meta({ description: "The run's documents." }),
    jobIds: z.array(jobIdSchema).optional().meta({
      description:
        "The jobs, in the order of the documents (a run of `documents`); a manifest run's are listed by GET /v1/runs/{runId}/jobs once written.",
    }),
    plan: deadlinePlan.optional(),
    inference: inferencePlan,
    links: z.strictObject({ self: link }),
  })
  .meta({
    id: "RunSubmitted",
    description:
      "The run and its jobs, in the order of the documents; `plan` when a deadline was given; `inference`, how its model calls are made.",
  });

export const runViewSchema = z
  .strictObject({
    runId: runIdSchema,
    status: z.enum(["running", "complete"]),
    counts: z.strictObject({
      total: z.int().nonnegative(),
      pending: z.int().nonnegative(),
      processing: z.int().nonnegative(),
      complete: z.int().nonnegative(),
      failed: z.int().nonnegative(),
    }),
    countsByClassification: z.record(z.string(), z.int().nonnegative()).meta({ example: { invoice: 3, contract: 1 } }),
    startedAt: isoTimestamp,
    completedAt: isoTimestamp.optional(),
    throughput: z.strictObject({ documentsPerSecond: z.number().nonnegative() }),
    eta: isoTimestamp.optional().meta({ description: "At the throughput so far, while documents remain." }),
    deadline: z.strictObject({ duration: z.string(), at: isoTimestamp, onTrack: z.boolean().nullable() }).optional(),
    budget: runBudget.optional().meta({ description: "What it may spend, as submitted (spend: `usage`)." }),
    inference: z
      .strictObject({ mode: z.enum(["onDemand", "batch"]), fallbackAt: isoTimestamp.optional() })
      .optional()
      .meta({
        description:
          "How its model calls are made, as chosen at submission (POST /v1/runs `inference`): on demand, or batch inference, what the batch has not answered by `fallbackAt` then running on demand. Absent for runs from before batch inference (on demand).",
      }),
    plan: deadlinePlan
      .optional()
      .meta({ description: "The plan the run was given at submission, when it had a deadline." }),
    usage: z
      .strictObject({
        inputTokens: z.int().nonnegative(),
        outputTokens: z.int().nonnegative(),
        costUsd: z.number().nonnegative(),
        unpricedJobs: z
          .int()
          .nonnegative()
          .meta({ description: "Counted jobs whose model had no price: in the tokens, not in the cost." }),
      })
      .meta({
        description:
          "The model tokens of its finished jobs' results, and what they cost on demand at the stages' price table. Counted with each job's outcome, exactly once.",
      }),
    links: z.strictObject({ self: link }),
  })
  .meta({ id: "Run", description: "A run's progress: counts, measured throughput and ETA." });
export type RunView = z.output<typeof runViewSchema>;

/**
 * `?wait=<s>`: a whole number of seconds from 1 to MAX_WAIT_SECONDS, in plain decimal digits,
 * given once. Anything else (`wait=`, `0x1`, `1.5`, `1e1`, `0`, a second `wait`) is refused
 * rather than read as something: a submission with `wait` goes in the interactive lane, so a
 * malformed one must not get there. Without `wait` the answer is 202 at once (bulk lane).
 */
export function parseWait(values: string[] | undefined): number | undefined {
  if (values === undefined) return undefined;
  const [value] = values;
  if (values.length === 1 && value !== undefined && /^[1-9][0-9]?$/.test(value) && Number(value) <= MAX_WAIT_SECONDS)
    return Number(value);
  const message = `must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}, given once (omit it to be answered at once)`;
  throw new ApiError(
    400,
    "VALIDATION_FAILED",
    `wait: ${message}; got ${values.map((v) => JSON.stringify(v)).join(", ")}.`,
    [{ path: "wait", message }],
  );
}

/**
 * A refused body: 400 METADATA_TOO_LARGE when metadata is over a size bound (its keys, its
 * bytes: see @quire/contracts METADATA_MAX_*), else 400 VALIDATION_FAILED; both name the path.
 */
export function invalidInput(error: z.ZodError): ApiError {
  const tooLarge = error.issues.filter(
    (issue) => issue.code === "custom" && (issue.params as { code?: unknown } | undefined)?.code === METADATA_TOO_LARGE,
  );
  if (tooLarge.length === 0) return validationFailed(error);
  return new ApiError(
    400,
    METADATA_TOO_LARGE,
    tooLarge.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "),
    tooLarge.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
  );
}

export interface AppDependencies {
  jobs: JobStore;
  submission: Submission;
  /** Who may call: API keys (both APIs share one store) and the bootstrap key. */
  keys: ApiKeys;
  maxDocumentBytes: number;
  /** Largest POST /v1/runs body (QUIRE_MAX_RUN_BODY_BYTES). */
  maxRunBodyBytes?: number;
  /** Request bodies this process holds at once, in all (QUIRE_MAX_INFLIGHT_BODY_BYTES). */
  inflightBodyBytes?: number;
  /** How often sync mode re-reads the job while it waits. */
  pollIntervalMs?: number;
  /** The quota and latency deadline plans are made with. */
  planning?: PlanningSettings;
  /** Presigned upload URLs for manifests (POST /v1/manifests). Without it, manifests are not offered. */
  manifests?: { createUpload(): Promise<{ manifestId: string; url: string; expiresAt: string }> };
  /** Whether batch inference is set up, and what it is expected to take (POST /v1/runs `mode`). Without it, runs go on demand. */
  inference?: Omit<InferenceSettings, "prices" | "modelId"> & { modelId: string };
  /** Every queue's dead letters: the /v1/dead-letters routes. */
  deadLetters?: DeadLetters;
  /** Every queue's depth: GET /v1/queues. */
  queues?: QueueDepths;
  /** Every stage process's governor, as reported to the jobs table: GET /v1/governors. */
  governors?: GovernorReportStore;
  /** What each model's tokens cost (a job's usage is priced with it). The defaults without it. */
  prices?: PriceTable;
  /** Browser origins allowed to call the API (the console's: QUIRE_CONSOLE_ORIGINS). */
  corsOrigins?: readonly string[];
}

/** The job as the API shows it: results when complete, the reason when failed. */
export function jobView(job: Job, prices: PriceTable = DEFAULT_PRICES): JobView {
  const results = keptResults(job);
  return {
    jobId: job.jobId,
    ...(job.runId ? { runId: job.runId } : {}),
    status: job.status,
    ...(job.title !== undefined ? { title: job.title } : {}),
    ...(job.metadata !== undefined ? { metadata: job.metadata } : {}),
    submittedAt: job.submittedAt,
    ...(job.completedAt ? { completedAt: job.completedAt } : {}),
    ...(job.stageStates.summary.result ? { summary: job.stageStates.summary.result } : {}),
    ...(job.stageStates.classification.result ? { classification: job.stageStates.classification.result } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.failedStage ? { failedStage: job.failedStage } : {}),
    completionPublished: job.completionPublished,
    stages: { summary: stageOf(job.stageStates.summary), classification: stageOf(job.stageStates.classification) },
    ...(results.length > 0 ? { usage: usageView(pricedUsage(results, prices)) } : {}),
    links: { self: `/v1/jobs/${job.jobId}`, ...(job.runId ? { run: `/v1/runs/${job.runId}` } : {}) },
  };
}

/** A job's usage as the API shows it: its cost in dollars, only when every result's model has a price. */
function usageView({ inputTokens, outputTokens, costMicroUsd }: ReturnType<typeof pricedUsage>) {
  return { inputTokens, outputTokens, ...(costMicroUsd !== undefined ? { costUsd: costMicroUsd / 1e6 } : {}) };
}

function stageOf(state: Job["stageStates"][StageName]): JobView["stages"][StageName] {
  return {
    status: state.status,
    attempts: state.attempts,
    ...(state.startedAt ? { startedAt: state.startedAt } : {}),
    ...(state.completedAt ? { completedAt: state.completedAt } : {}),
  };
}

/** The stored plan, read back through its schema (a plan stored in an older shape is left out, not shown wrong). */
function planOf(run: Run): { plan?: z.output<typeof deadlinePlan> } {
  const parsed = deadlinePlan.safeParse(run.plan);
  return parsed.success ? { plan: parsed.data } : {};
}

/** Counts, measured throughput and ETA of a run. */
export function runView(run: Run, now = new Date()): RunView {
  const finished = run.complete + run.failed;
  const elapsedSeconds = Math.max(0.001, (now.getTime() - Date.parse(run.startedAt)) / 1000);
  const docsPerSecond = finished / elapsedSeconds;
  const remaining = run.total - finished;
  const eta =
    remaining > 0 && docsPerSecond > 0 ? new Date(now.getTime() + (remaining / docsPerSecond) * 1000) : undefined;
  const deadlineAt = runDeadlineAt(run);
  return {
    runId: run.runId,
    status: remaining === 0 ? "complete" : "running",
    counts: {
      total: run.total,
      pending: Math.max(0, run.total - run.started),
      // Finished jobs were all started; what is left of `started` is in a stage right now.
      processing: Math.max(0, run.started - finished),
      complete: run.complete,
      failed: run.failed,
    },
    countsByClassification: run.countsByClassification,
    startedAt: run.startedAt,
    ...(run.completedAt ? { completedAt: run.completedAt } : {}),
    throughput: { documentsPerSecond: Number(docsPerSecond.toFixed(3)) },
    ...(eta ? { eta: eta.toISOString() } : {}),
    ...(deadlineAt
      ? {
          deadline: {
            duration: run.deadline!,
            at: deadlineAt.toISOString(),
            onTrack:
              remaining === 0
                ? Date.parse(run.completedAt ?? now.toISOString()) <= deadlineAt.getTime()
                : eta
                  ? eta <= deadlineAt
                  : null,
          },
        }
      : {}),
    ...planOf(run),
    ...(run.budget ? { budget: run.budget } : {}),
    ...(run.inference ? { inference: run.inference } : {}),
    usage: {
      inputTokens: run.inputTokens,
      outputTokens: run.outputTokens,
      costUsd: run.costMicroUsd / 1e6,
      unpricedJobs: run.unpricedJobs,
    },
    links: { self: `/v1/runs/${run.runId}` },
  };
}

/** What the committed openapi.json says about this API. */
export const INGESTION_API: ApiDescription = {
  title: "Quire ingestion API",
  version: "1.0.0",
  description:
    "Submit documents (one at a time, or many as a run) to be summarized and classified, and read their jobs and runs. Every route under /v1/ needs the `x-api-key` header. Every failure is `{ error: { code, message, details? } }`; each operation lists the codes it can answer. Generated from the zod schemas the routes validate with (services/ingestion/src/app.ts); do not edit by hand.",
  servers: [{ url: "http://127.0.0.1:3000", description: "Local: npm start (QUIRE_API_PORT)" }],
  tags: [
    { name: "Documents", description: "One document in, one job out." },
    { name: "Runs", description: "Many documents at once, tracked together." },
    {
      name: "Dead letters",
      description: "Why messages failed, and sending them back to work once the cause is fixed.",
    },
    { name: "Queues", description: "How much work waits in each queue of the pipeline." },
  ],
};

const jobIdParam = z.object({ jobId: jobIdSchema.meta({ example: "job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7" }) });
const runIdParam = z.object({ runId: runIdSchema.meta({ example: "run_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7" }) });
const waitQuery = z.object({
  wait: z
    .int()
    .min(1)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .meta({
      description: `Sync mode: wait up to this many seconds (a whole number from 1 to ${MAX_WAIT_SECONDS}, plain digits, given once) for the job to finish, answering 200 with its results; if it has not, 202 as without it. Anything else is 400 VALIDATION_FAILED. Omit it to be answered 202 at once (the bulk lane).`,
      example: 20,
    }),
});
/** `limit` of a listing: a whole number, `fallback` without it. */
const pageLimit = (fallback: number, max: number, description: string) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .meta({ type: "integer", minimum: 1, maximum: max, default: fallback, description });
const pageCursor = z.string().min(1).max(4096).optional().meta({
  description:
    "The previous page's `nextCursor`, as it came: opaque, and good only for the listing that gave it (anything else is 400 VALIDATION_FAILED). Without it, the first page.",
});
const nextCursor = z.string().optional().meta({
  description: "There may be more: pass it as `cursor` for the next page. Absent on the last page.",
});
const RUNS_PAGE = { default: 20, max: 100 };
const RUN_JOBS_PAGE = { default: 50, max: 200 };
const runsQuery = z.object({
  limit: pageLimit(RUNS_PAGE.default, RUNS_PAGE.max, "At most this many runs."),
  cursor: pageCursor,
});
const runJobsQuery = z.object({
  status: jobStatus.optional().meta({ description: "Only jobs in this status." }),
  classification: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .meta({ description: "Only jobs classified with this label, exactly.", example: "invoice" }),
  title: z.string().min(1).max(TITLE_MAX_LENGTH).optional().meta({
    description: "Only jobs whose title contains this, case-sensitively (a job without a title never matches).",
    example: "invoice",
  }),
  metadata: z
    .string()
    .regex(/^[^:]{1,128}:.{0,1024}$/s, "key:value (the key 1 to 128 characters, without a colon)")
    .transform((entry) => {
      const colon = entry.indexOf(":");
      return { key: entry.slice(0, colon), value: entry.slice(colon + 1) };
    })
    .optional()
    .meta({
      description:
        "Only jobs whose metadata has this entry, as `key:value`; the value matches a string equal to it, or a number or boolean that reads the same.",
      example: "matter:A-1042",
    }),
  limit: pageLimit(
    RUN_JOBS_PAGE.default,
    RUN_JOBS_PAGE.max,
    "At most this many jobs are read for the page; with a filter, the page holds those of them that match.",
  ),
  cursor: pageCursor,
});
const runList = z
  .strictObject({ runs: z.array(runViewSchema), nextCursor })
  .meta({ id: "RunList", description: "A page of runs, newest first." });
const runJobList = z
  .strictObject({ jobs: z.array(jobViewSchema), nextCursor })
  .meta({ id: "RunJobList", description: "A page of a run's jobs, in submission order." });
const QUERY_INVALID = {
  VALIDATION_FAILED: {
    message: "limit: Too big: expected number to be <=100",
    details: [{ path: "limit", message: "Too big: expected number to be <=100" }],
  },
};

/** A listing's query string: the first value of each parameter, through `schema`; 400 VALIDATION_FAILED otherwise. */
function listingQuery<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw validationFailed(parsed.error);
  return parsed.data;
}

/** A cursor the store refuses (forged, or another listing's) is the caller's mistake: 400, never a 500. */
async function paging<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof InvalidCursorError)) throw error;
    const message = "not a cursor this listing gave: pass nextCursor as it came, or start again without one";
    throw new ApiError(400, "VALIDATION_FAILED", `cursor: ${message}`, [{ path: "cursor", message }]);
  }
}

const location = (example: string) => ({
  location: { description: "Where to read it.", schema: { type: "string" as const, example } },
});

/**
 * Ingestion's HTTP API: one Hono app, served by @hono/node-server locally and by the Lambda
 * adapter in AWS. Sync mode waits on the job store; it never calls Bedrock itself. Each route is
 * declared (createRoute, for /openapi.json) beside its handler, with the schemas the handler uses.
 */
export function createApp(deps: AppDependencies) {
  const app = createApiApp({
    service: "ingestion",
    authenticate: (presented) => deps.keys.authenticator.authenticate(presented),
    description: INGESTION_API,
    ...(deps.corsOrigins ? { corsOrigins: deps.corsOrigins } : {}),
  });
  const pollIntervalMs = deps.pollIntervalMs ?? 100;
  const runBodyLimit = deps.maxRunBodyBytes ?? DEFAULT_MAX_RUN_BODY_BYTES;
  const bodies = new BodyBudget(deps.inflightBodyBytes ?? DEFAULT_INFLIGHT_BODY_BYTES);
  const waits = new ConcurrencyLimiter();
  const bodyLimit = documentBodyLimit(deps.maxDocumentBytes);
  const tooLarge = {
    ...payloadTooLarge(bodyLimit),
    DOCUMENT_TOO_LARGE: `Document is ${deps.maxDocumentBytes + 1} bytes; the limit is ${deps.maxDocumentBytes}.`,
  };
  const invalidBody = {
    ...BAD_JSON_BODY,
    [METADATA_TOO_LARGE]: {
      message: `metadata: metadata has 51 keys; at most ${METADATA_MAX_KEYS} are allowed`,
      details: [{ path: "metadata", message: `metadata has 51 keys; at most ${METADATA_MAX_KEYS} are allowed` }],
    },
  };

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/documents",
      operationId: "submitDocument",
      summary: "Submit a document",
      description: `Accepts one document to summarize and classify. Without \`wait\`: 202 at once, with the job to poll. With \`wait\`: 200 with the results if the job finishes in time, else 202. The body may be at most ${bodyLimit} bytes (twice QUIRE_MAX_DOCUMENT_BYTES and 64 KiB, for JSON escapes; over it: 413 PAYLOAD_TOO_LARGE); the text itself at most QUIRE_MAX_DOCUMENT_BYTES (${deps.maxDocumentBytes} here; 413 DOCUMENT_TOO_LARGE).`,
      tags: ["Documents"],
      security: keyScope("documents:submit"),
      request: {
        query: waitQuery,
        body: {
          required: true,
          ...json(documentInput, {
            examples: {
              invoice: {
                summary: "A document",
                value: {
                  text: "INVOICE 12. Amount due 99.00. Total due in 30 days.",
                  title: "March invoice",
                  metadata: { customer: "acme" },
                  idempotencyKey: "invoice-2024-03-12",
                },
              },
            },
          }),
        },
      },
      responses: {
        200: json(jobViewSchema, { description: "Sync mode (`wait`): the job finished in time, complete or failed." }),
        202: {
          ...json(jobViewSchema, {
            description:
              "Accepted: poll the job (Location). An idempotency key already used for the same request answers with the job it made.",
          }),
          headers: location("/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7"),
        },
        ...errorResponses({
          400: invalidBody,
          401: UNAUTHORIZED,
          409: {
            IDEMPOTENCY_KEY_REUSED:
              "This idempotency key was used with a different request (text, title or metadata); use a new key for a new document.",
            SUBMISSION_IN_PROGRESS: "A request with this idempotency key is still being accepted; retry shortly.",
          },
          413: tooLarge,
          415: NOT_JSON,
          429: {
            TOO_MANY_WAITS: "This key already has 10 ?wait= requests in flight: wait for one, or submit without wait.",
            ...BODIES_BUSY,
          },
          500: INTERNAL,
          503: { PUBLISH_FAILED: "The document was not accepted: the pipeline is unavailable. Retry later." },
        }),
      },
    },
    // The budget first: a chunked body (no Content-Length) is counted at the route's limit before
    // a byte of it is read, where limitBody would buffer it first.
    reserveBody(bodies, bodyLimit),
    limitBody(bodyLimit),
    async (c) => {
      const wait = parseWait(c.req.queries("wait"));
      // Checked before anything is accepted: a refused sync request has created nothing.
      const releaseWait = wait !== undefined ? holdWait(c) : undefined;
      try {
        const parsed = documentInput.safeParse(await jsonBody(c));
        if (!parsed.success) throw invalidInput(parsed.error);

        const { job, created } = await deps.submission.submitDocument(
          parsed.data,
          wait !== undefined ? "interactive" : "bulk",
        );
        if (wait !== undefined) {
          const finished = await waitForJob(deps.jobs, job.jobId, waitBudgetMs(wait * 1000, c.env), pollIntervalMs);
          if (finished) return c.json(jobView(finished, deps.prices), 200);
        }
        const current = created ? job : ((await deps.jobs.getJob(job.jobId)) ?? job);
        return c.json(jobView(current, deps.prices), 202, { location: `/v1/jobs/${job.jobId}` });
      } finally {
        releaseWait?.();
      }
    },
  );

  if (deps.manifests) {
    const manifests = deps.manifests;
    defineRoute(
      app,
      {
        method: "post",
        path: "/v1/manifests",
        operationId: "createManifestUpload",
        summary: "Upload a manifest for a large run",
        description: `For a run too large for one request body (up to ${MAX_MANIFEST_DOCUMENTS} documents): answers a manifest id and a presigned S3 URL. PUT the manifest there — NDJSON, one RunDocumentInput per line — then POST /v1/runs { manifest }. The manifest goes straight to S3, never through this API, and is read as a stream.`,
        tags: ["Runs"],
        security: keyScope("documents:submit"),
        responses: {
          201: json(manifestUploadSchema, { description: "Upload the manifest to `upload.url`." }),
          ...errorResponses({ 401: UNAUTHORIZED, 500: INTERNAL }),
        },
      },
      async (c) => {
        const upload = await manifests.createUpload();
        const answer: z.output<typeof manifestUploadSchema> = {
          manifestId: upload.manifestId,
          upload: { method: "PUT", url: upload.url, expiresAt: upload.expiresAt },
          links: { runs: "/v1/runs" },
        };
        return c.json(answer, 201);
      },
    );
  }

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/runs",
      operationId: "submitRun",
      summary: "Submit a run of documents",
      description: `Accepts 1 to ${MAX_RUN_DOCUMENTS} documents as one run, tracked together (GET /v1/runs/{runId}). With a \`deadline\`, the answer includes a plan saying whether the configured Bedrock quota can meet it; an infeasible one is refused (422) unless \`onInfeasibleDeadline\` is \`accept\`. The body may be at most ${runBodyLimit} bytes (QUIRE_MAX_RUN_BODY_BYTES; 413 PAYLOAD_TOO_LARGE: split a larger run, or send documents one by one); each text at most QUIRE_MAX_DOCUMENT_BYTES (${deps.maxDocumentBytes} here; 413 DOCUMENT_TOO_LARGE).`,
      tags: ["Runs"],
      security: keyScope("documents:submit"),
      request: {
        body: {
          required: true,
          ...json(runInput, {
            examples: {
              run: {
                summary: "Two documents, 30 minutes",
                value: {
                  documents: [
                    { text: "INVOICE 12. Amount due 99.00." },
                    { text: "Dear Ms. Ray, thank you for your letter.", title: "Letter" },
                  ],
                  deadline: "PT30M",
                },
              },
            },
          }),
        },
      },
      responses: {
        202: {
          ...json(runSubmittedSchema, { description: "Accepted: follow the run (Location)." }),
          headers: location("/v1/runs/run_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7"),
        },
        ...errorResponses({
          400: {
            ...invalidBody,
            MANIFEST_INVALID: "manifest line 12: text: text must not be empty",
          },
          401: UNAUTHORIZED,
          404: {
            MANIFEST_NOT_FOUND:
              "No manifest mfs_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7 was uploaded (POST /v1/manifests, then PUT the NDJSON to its upload URL).",
          },
          413: {
            ...payloadTooLarge(runBodyLimit),
            DOCUMENT_TOO_LARGE: `documents[0]: Document is ${deps.maxDocumentBytes + 1} bytes; the limit is ${deps.maxDocumentBytes}.`,
            MANIFEST_TOO_LARGE: `A manifest holds at most ${MAX_MANIFEST_DOCUMENTS} documents; split it into runs.`,
          },
          415: NOT_JSON,
          429: BODIES_BUSY,
          503: { PUBLISH_FAILED: "The run was not accepted: the pipeline is unavailable. Retry later." },
          422: {
            BATCH_NOT_AVAILABLE:
              "Batch inference is not set up here (no service role for Bedrock: QUIRE_BATCH_ROLE_ARN). Send mode onDemand or auto.",
            DEADLINE_NOT_FEASIBLE: {
              message:
                '10000 documents need about 334 min at 60 calls/min (rpm-bound); the deadline allows 30 min. Send onInfeasibleDeadline: "accept" to run it anyway.',
              details: {
                deadline: "PT30M",
                deadlineAt: "2025-01-01T00:30:00.000Z",
                feasible: false,
                expectedFinish: "2025-01-01T05:33:28.000Z",
                expectedSeconds: 20008,
                requiredConcurrency: 8,
                callsPerMinute: 60,
                bindingConstraint: "rpm",
                assumptions: { requestsPerMinute: 60, tokensPerMinute: null, meanLatencyMs: 8000, callsPerDocument: 2 },
              },
            },
          },
          500: INTERNAL,
        }),
      },
    },
    reserveBody(bodies, runBodyLimit),
    limitBody(runBodyLimit),
    async (c) => {
      const parsed = runInput.safeParse(await jsonBody(c));
      if (!parsed.success) throw invalidInput(parsed.error);
      const { documents: bodyDocuments, manifest, deadline, onInfeasibleDeadline, budget, mode } = parsed.data;
      if (manifest !== undefined && !deps.manifests) {
        throw new ApiError(400, "VALIDATION_FAILED", "manifest: this API takes no manifests");
      }
      // A manifest is checked and counted as it streams by (never held): planning reads the counts.
      const documents = bodyDocuments ?? (await deps.submission.readManifest(manifest!, parseRunDocument));
      const count = "count" in documents ? documents.count : documents.length;
      const planning = deps.planning ?? { meanLatencyMs: 8000 };
      const now = new Date();
      let plan: ReturnType<typeof planRun> | undefined;
      if (deadline) {
        try {
          plan = planRun(documents, deadline, planning, now);
        } catch (error) {
          throw new ApiError(400, "VALIDATION_FAILED", `deadline: ${(error as Error).message}`);
        }
        if (plan.feasible === false && onInfeasibleDeadline === "reject") {
          throw new ApiError(
            422,
            "DEADLINE_NOT_FEASIBLE",
            `${count} documents need about ${Math.ceil(plan.expectedSeconds! / 60)} min at ${plan.callsPerMinute} calls/min (${plan.bindingConstraint}-bound); the deadline allows ${Math.round(durationSeconds(deadline) / 60)} min. Send onInfeasibleDeadline: "accept" to run it anyway.`,
            plan,
          );
        }
      }
      const batchSettings = deps.inference ?? {
        batchAvailable: false,
        batchTurnaroundSeconds: 24 * 60 * 60,
        // (Unused while batch is unavailable.)
        batchMinRecords: 100,
        modelId: DEFAULT_MODEL_ID,
      };
      if (mode === "batch" && !batchSettings.batchAvailable) {
        throw new ApiError(
          422,
          "BATCH_NOT_AVAILABLE",
          "Batch inference is not set up here (no service role for Bedrock: QUIRE_BATCH_ROLE_ARN). Send mode onDemand or auto.",
        );
      }
      if (mode === "batch" && budget) {
        throw new ApiError(
          422,
          "BATCH_NOT_AVAILABLE",
          "A run with a budget runs on demand: its spend is checked before each model call, and a batch job, once submitted, is spent whole. Send mode onDemand or auto, or no budget.",
        );
      }
      const quotaKnown = Boolean(planning.requestsPerMinute || planning.tokensPerMinute);
      const inference = chooseInference(
        documents,
        mode,
        deadline && plan ? { seconds: durationSeconds(deadline), at: new Date(plan.deadlineAt) } : undefined,
        quotaKnown ? onDemandThroughput(documents, planning).expectedSeconds : undefined,
        { ...batchSettings, prices: deps.prices ?? DEFAULT_PRICES, budgeted: budget !== undefined },
        now,
      );
      const options = {
        ...(deadline ? { deadline } : {}),
        ...(plan ? { plan } : {}),
        ...(budget ? { budget } : {}),
        inference: {
          mode: inference.mode,
          ...("fallbackAt" in inference && inference.fallbackAt ? { fallbackAt: inference.fallbackAt } : {}),
        },
      };
      const { runId, jobIds } =
        "count" in documents
          ? { ...(await deps.submission.submitManifestRun(manifest!, documents, options)), jobIds: undefined }
          : await deps.submission.submitRun(documents, options);
      const submitted: z.output<typeof runSubmittedSchema> = {
        runId,
        total: count,
        ...(jobIds ? { jobIds } : {}),
        ...(plan ? { plan } : {}),
        inference,
        links: { self: `/v1/runs/${runId}` },
      };
      return c.json(submitted, 202, { location: `/v1/runs/${runId}` });
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/jobs/{jobId}",
      operationId: "getJob",
      summary: "Read a job",
      description:
        "The job's status, its results once complete, the reason once failed. An id that is not a job's is 404 too.",
      tags: ["Documents"],
      security: keyScope("jobs:read"),
      request: { params: jobIdParam },
      responses: {
        200: json(jobViewSchema, { description: "The job." }),
        ...errorResponses({
          401: UNAUTHORIZED,
          404: { JOB_NOT_FOUND: "No job job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7." },
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const id = jobIdSchema.safeParse(c.req.param("jobId"));
      const job = id.success ? await deps.jobs.getJob(id.data) : undefined;
      if (!job) throw new ApiError(404, "JOB_NOT_FOUND", `No job ${c.req.param("jobId")}.`);
      return c.json(jobView(job, deps.prices));
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/runs/{runId}",
      operationId: "getRun",
      summary: "Read a run",
      description:
        "Counts by status and by classification, measured throughput, ETA, and whether the deadline is on track. An id that is not a run's is 404 too.",
      tags: ["Runs"],
      security: keyScope("jobs:read"),
      request: { params: runIdParam },
      responses: {
        200: json(runViewSchema, { description: "The run." }),
        ...errorResponses({
          401: UNAUTHORIZED,
          404: { RUN_NOT_FOUND: "No run run_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7." },
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const id = runIdSchema.safeParse(c.req.param("runId"));
      const run = id.success ? await deps.jobs.getRun(id.data) : undefined;
      if (!run) throw new ApiError(404, "RUN_NOT_FOUND", `No run ${c.req.param("runId")}.`);
      return c.json(runView(run));
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/runs",
      operationId: "listRuns",
      summary: "List runs",
      description:
        "Runs, the most recent first (by runId, which is time-ordered), a page at a time, each as GET /v1/runs/{runId} shows it. Follow `nextCursor` for the next page; a page may hold fewer than `limit` runs while `nextCursor` is there.",
      tags: ["Runs"],
      security: keyScope("jobs:read"),
      request: { query: runsQuery },
      responses: {
        200: json(runList, { description: "A page of runs." }),
        ...errorResponses({ 400: QUERY_INVALID, 401: UNAUTHORIZED, 500: INTERNAL }),
      },
    },
    async (c) => {
      const { limit, cursor } = listingQuery(c, runsQuery);
      const page = await paging(() => deps.jobs.listRuns({ limit, ...(cursor ? { cursor } : {}) }));
      const now = new Date();
      return c.json({
        runs: page.runs.map((run) => runView(run, now)),
        ...(page.cursor ? { nextCursor: page.cursor } : {}),
      });
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/runs/{runId}/jobs",
      operationId: "listRunJobs",
      summary: "List a run's jobs",
      description:
        "The run's jobs in submission order, a page at a time, each as GET /v1/jobs/{jobId} shows it. Each page reads the next `limit` jobs and answers those that match the filters (`status`, `classification`, `title`, all that are given): a filtered page may hold fewer than `limit` jobs, or none, while `nextCursor` is still there. Keep following `nextCursor` until it is absent; every job is read once, in order. Read from an index: in AWS a change to a job shows here within a second or so. An id that is not a run's is 404.",
      tags: ["Runs"],
      security: keyScope("jobs:read"),
      request: { params: runIdParam, query: runJobsQuery },
      responses: {
        200: json(runJobList, { description: "A page of the run's jobs." }),
        ...errorResponses({
          400: QUERY_INVALID,
          401: UNAUTHORIZED,
          404: { RUN_NOT_FOUND: "No run run_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7." },
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const { limit, cursor, ...filter } = listingQuery(c, runJobsQuery);
      const id = runIdSchema.safeParse(c.req.param("runId"));
      const run = id.success ? await deps.jobs.getRun(id.data) : undefined;
      if (!run) throw new ApiError(404, "RUN_NOT_FOUND", `No run ${c.req.param("runId")}.`);
      const page = await paging(() =>
        deps.jobs.listRunJobs(run.runId, { limit, filter, ...(cursor ? { cursor } : {}) }),
      );
      return c.json({
        jobs: page.jobs.map((job) => jobView(job, deps.prices)),
        ...(page.cursor ? { nextCursor: page.cursor } : {}),
      });
    },
  );

  if (deps.deadLetters) registerDeadLetterRoutes(app, deps.deadLetters);
  if (deps.queues) registerQueueRoutes(app, deps.queues);
  if (deps.governors) registerGovernorRoutes(app, deps.governors);
  registerKeyRoutes(app, deps.keys);
  return app;

  /** A sync slot of the calling key, or 429 TOO_MANY_WAITS. */
  function holdWait(c: Context): () => void {
    const { keyId, limits } = callerOf(c) as Principal;
    const release = waits.tryAcquire(keyId, limits.concurrentWaits);
    if (!release) {
      c.header("retry-after", "1");
      throw new ApiError(
        429,
        "TOO_MANY_WAITS",
        `This key already has ${limits.concurrentWaits} ?wait= requests in flight: wait for one, or submit without wait.`,
      );
    }
    return release;
  }
}

/** The slowest a sync request re-reads its job. */
const MAX_POLL_INTERVAL_MS = 1000;

/** What a sync request leaves itself to answer 202 in time, after its wait runs out. */
export const ANSWER_MARGIN_MS = 2000;

/**
 * How long a sync request may wait. Behind API Gateway in Lambda the invocation (and the HTTP
 * API's 30 s integration limit) ends the request: the wait stops early enough to answer 202 with
 * the job's links instead of the caller getting a gateway timeout. Locally there is no such limit.
 */
export function waitBudgetMs(requestedMs: number, env: unknown): number {
  const lambdaContext = (env as { lambdaContext?: { getRemainingTimeInMillis?: () => number } } | undefined)
    ?.lambdaContext;
  const remaining = lambdaContext?.getRemainingTimeInMillis?.();
  return remaining === undefined ? requestedMs : Math.max(0, Math.min(requestedMs, remaining - ANSWER_MARGIN_MS));
}

async function waitForJob(
  jobs: JobStore,
  jobId: string,
  timeoutMs: number,
  intervalMs: number,
): Promise<Job | undefined> {
  const deadline = Date.now() + timeoutMs;
  // Quick at first (most sync jobs finish in seconds), then once a second: a 30 s wait reads
  // the job about 35 times, not 300.
  let interval = intervalMs;
  while (Date.now() < deadline) {
    const job = await jobs.getJob(jobId);
    if (job && (job.status === "complete" || job.status === "failed")) return job;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
    interval = Math.min(MAX_POLL_INTERVAL_MS, interval * 1.5);
  }
  return undefined;
}
