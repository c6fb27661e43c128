import { documentMetadata, jobId as jobIdSchema, METADATA_TOO_LARGE, runId as runIdSchema, TITLE_MAX_LENGTH } from "@quire/contracts";
import type { Job, JobStore, Run } from "@quire/jobs";
import { z } from "zod";
import { ApiError, createApiApp, jsonBody, limitBody, validationFailed } from "@quire/http-api";
import { durationSeconds, planRun, type PlanningSettings } from "./planning.ts";
import type { Submission } from "./submission.ts";

export const MAX_WAIT_SECONDS = 30;
export const MAX_RUN_DOCUMENTS = 10_000;

const documentInput = z.strictObject({
  text: z.string().min(1, "text must not be empty"),
  title: z.string().max(TITLE_MAX_LENGTH).optional(),
  metadata: documentMetadata.optional(),
  idempotencyKey: z.string().min(1).max(256).optional(),
});
const runInput = z.strictObject({
  documents: z
    .array(documentInput.omit({ idempotencyKey: true }))
    .min(1, "a run needs at least one document")
    .max(MAX_RUN_DOCUMENTS, `a run holds at most ${MAX_RUN_DOCUMENTS} documents`),
  deadline: z.iso.duration().optional(),
  /** What to do when the deadline cannot be met at the configured quota: refuse (default) or run anyway. */
  onInfeasibleDeadline: z.enum(["reject", "accept"]).default("reject"),
});

/**
 * `?wait=<s>`: a whole number of seconds from 1 to MAX_WAIT_SECONDS, in plain decimal digits,
 * given once. Anything else (`wait=`, `0x1`, `1.5`, `1e1`, `0`, a second `wait`) is refused
 * rather than read as something: a submission with `wait` goes in the interactive lane, so a
 * malformed one must not get there. Without `wait` the answer is 202 at once (bulk lane).
 */
export function parseWait(values: string[] | undefined): number | undefined {
  if (values === undefined) return undefined;
  const [value] = values;
  if (values.length === 1 && value !== undefined && /^[1-9][0-9]?$/.test(value) && Number(value) <= MAX_WAIT_SECONDS) return Number(value);
  const message = `must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}, given once (omit it to be answered at once)`;
  throw new ApiError(400, "VALIDATION_FAILED", `wait: ${message}; got ${values.map((v) => JSON.stringify(v)).join(", ")}.`, [{ path: "wait", message }]);
}

/**
 * A refused body: 400 METADATA_TOO_LARGE when metadata is over a size bound (its keys, its
 * bytes: see @quire/contracts METADATA_MAX_*), else 400 VALIDATION_FAILED; both name the path.
 */
export function invalidInput(error: z.ZodError): ApiError {
  const tooLarge = error.issues.filter((issue) => issue.code === "custom" && (issue.params as { code?: unknown } | undefined)?.code === METADATA_TOO_LARGE);
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
  apiKey: string;
  maxDocumentBytes: number;
  /** How often sync mode re-reads the job while it waits. */
  pollIntervalMs?: number;
  /** The quota and latency deadline plans are made with. */
  planning?: PlanningSettings;
}

/** The job as the API shows it: results when complete, the reason when failed. */
export function jobView(job: Job) {
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
    stages: {
      summary: { status: job.stageStates.summary.status, attempts: job.stageStates.summary.attempts },
      classification: { status: job.stageStates.classification.status, attempts: job.stageStates.classification.attempts },
    },
    links: { self: `/v1/jobs/${job.jobId}`, ...(job.runId ? { run: `/v1/runs/${job.runId}` } : {}) },
  };
}

/** Counts, measured throughput and ETA of a run. */
export function runView(run: Run, now = new Date()) {
  const finished = run.complete + run.failed;
  const elapsedSeconds = Math.max(0.001, (now.getTime() - Date.parse(run.startedAt)) / 1000);
  const docsPerSecond = finished / elapsedSeconds;
  const remaining = run.total - finished;
  const eta = remaining > 0 && docsPerSecond > 0 ? new Date(now.getTime() + (remaining / docsPerSecond) * 1000) : undefined;
  const deadlineAt = run.deadline ? new Date(Date.parse(run.startedAt) + durationSeconds(run.deadline) * 1000) : undefined;
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
    ...(deadlineAt ? { deadline: { duration: run.deadline, at: deadlineAt.toISOString(), onTrack: remaining === 0 ? Date.parse(run.completedAt ?? now.toISOString()) <= deadlineAt.getTime() : eta ? eta <= deadlineAt : null } } : {}),
    links: { self: `/v1/runs/${run.runId}` },
  };
}

/**
 * Ingestion's HTTP API: one Hono app, served by @hono/node-server locally and by the Lambda
 * adapter in AWS. Sync mode waits on the job store; it never calls Bedrock itself.
 */
export function createApp(deps: AppDependencies) {
  const app = createApiApp({ service: "ingestion", apiKey: deps.apiKey });
  const pollIntervalMs = deps.pollIntervalMs ?? 100;
  // JSON escapes can make the body larger than the text; allow generous overhead and check the text itself after parsing.
  const documentBodyLimit = deps.maxDocumentBytes * 2 + 64 * 1024;
  app.post("/v1/documents", limitBody(documentBodyLimit), async (c) => {
    const wait = parseWait(c.req.queries("wait"));
    const parsed = documentInput.safeParse(await jsonBody(c));
    if (!parsed.success) throw invalidInput(parsed.error);

    const { job, created } = await deps.submission.submitDocument(parsed.data, wait !== undefined ? "interactive" : "bulk");
    if (wait !== undefined) {
      const finished = await waitForJob(deps.jobs, job.jobId, waitBudgetMs(wait * 1000, c.env), pollIntervalMs);
      if (finished) return c.json(jobView(finished), 200);
    }
    const current = created ? job : ((await deps.jobs.getJob(job.jobId)) ?? job);
    return c.json(jobView(current), 202, { location: `/v1/jobs/${job.jobId}` });
  });

  const runBodyLimit = 256 * 1024 * 1024;
  app.post("/v1/runs", limitBody(runBodyLimit), async (c) => {
    const parsed = runInput.safeParse(await jsonBody(c));
    if (!parsed.success) throw invalidInput(parsed.error);
    const { documents, deadline, onInfeasibleDeadline } = parsed.data;
    let plan: ReturnType<typeof planRun> | undefined;
    if (deadline) {
      try {
        plan = planRun(documents, deadline, deps.planning ?? { meanLatencyMs: 8000 });
      } catch (error) {
        throw new ApiError(400, "VALIDATION_FAILED", `deadline: ${(error as Error).message}`);
      }
      if (plan.feasible === false && onInfeasibleDeadline === "reject") {
        throw new ApiError(
          422,
          "DEADLINE_NOT_FEASIBLE",
          `${documents.length} documents need about ${Math.ceil(plan.expectedSeconds! / 60)} min at ${plan.callsPerMinute} calls/min (${plan.bindingConstraint}-bound); the deadline allows ${Math.round(durationSeconds(deadline) / 60)} min. Send onInfeasibleDeadline: "accept" to run it anyway.`,
          plan,
        );
      }
    }
    const { runId, jobIds } = await deps.submission.submitRun(documents, deadline ? { deadline } : {});
    return c.json({ runId, jobIds, ...(plan ? { plan } : {}), links: { self: `/v1/runs/${runId}` } }, 202, { location: `/v1/runs/${runId}` });
  });

  app.get("/v1/jobs/:jobId", async (c) => {
    const id = jobIdSchema.safeParse(c.req.param("jobId"));
    const job = id.success ? await deps.jobs.getJob(id.data) : undefined;
    if (!job) throw new ApiError(404, "JOB_NOT_FOUND", `No job ${c.req.param("jobId")}.`);
    return c.json(jobView(job));
  });

  app.get("/v1/runs/:runId", async (c) => {
    const id = runIdSchema.safeParse(c.req.param("runId"));
    const run = id.success ? await deps.jobs.getRun(id.data) : undefined;
    if (!run) throw new ApiError(404, "RUN_NOT_FOUND", `No run ${c.req.param("runId")}.`);
    return c.json(runView(run));
  });

  return app;
}

/** What a sync request leaves itself to answer 202 in time, after its wait runs out. */
export const ANSWER_MARGIN_MS = 2000;

/**
 * How long a sync request may wait. Behind API Gateway in Lambda the invocation (and the HTTP
 * API's 30 s integration limit) ends the request: the wait stops early enough to answer 202 with
 * the job's links instead of the caller getting a gateway timeout. Locally there is no such limit.
 */
export function waitBudgetMs(requestedMs: number, env: unknown): number {
  const lambdaContext = (env as { lambdaContext?: { getRemainingTimeInMillis?: () => number } } | undefined)?.lambdaContext;
  const remaining = lambdaContext?.getRemainingTimeInMillis?.();
  return remaining === undefined ? requestedMs : Math.max(0, Math.min(requestedMs, remaining - ANSWER_MARGIN_MS));
}

async function waitForJob(jobs: JobStore, jobId: string, timeoutMs: number, intervalMs: number): Promise<Job | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const job = await jobs.getJob(jobId);
    if (job && (job.status === "complete" || job.status === "failed")) return job;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  return undefined;
}
