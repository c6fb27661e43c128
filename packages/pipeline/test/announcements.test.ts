import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { loadConfig } from "@quire/config";
import { documentSubmitted, newJobId, newRunId, SCHEMA_VERSION, type DocumentSubmitted } from "@quire/contracts";
import { createJobStore } from "@quire/jobs";
import { createLogger, type ConsumerContext } from "@quire/runtime";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AnnouncementPendingError,
  createAwsClients,
  createJobLifecycle,
  createStageHandler,
  stageDependencies,
  type EventPublisher,
  type StageDependencies,
} from "../src/index.ts";

/**
 * "Nothing is acknowledged before what it owes is on the bus": a PutEvents that fails (once)
 * makes the delivery fail, and its redelivery — seconds later, well inside the announcement
 * lease — publishes the event. Real PutEvents against devcloud; the fault is one refused call.
 */
let devcloud: Devcloud;
let summarizer: StageDependencies;
let classifier: StageDependencies;
beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {}, bedrock: { timeScale: 0.01 } });
  const config = loadConfig({ ...devcloud.env });
  summarizer = stageDependencies(config, createAwsClients(devcloud.env), "summarizer");
  classifier = stageDependencies(config, createAwsClients(devcloud.env), "classifier");
});
afterAll(() => devcloud.stop());

const context = (): ConsumerContext => ({
  messageId: "m",
  receiveCount: 1,
  queueName: "quire-classifier",
  signal: new AbortController().signal,
  log: createLogger({}, () => {}),
});

/** The real publisher, refusing the first `failures` puts of `detailType`; records what went out. */
function flakyPublisher(
  real: EventPublisher,
  detailType: string,
  failures = 1,
  published: { detailType: string; detail: Record<string, unknown> }[] = [],
) {
  let left = failures;
  const events: EventPublisher = {
    async put(type, detail) {
      if (type === detailType && left > 0) {
        left--;
        throw Object.assign(new Error("Service unavailable"), {
          name: "InternalException",
          $metadata: { httpStatusCode: 500 },
        });
      }
      const id = await real.put(type, detail);
      published.push({ detailType: type, detail: detail as Record<string, unknown> });
      return id;
    },
  };
  return { events, published };
}

function withEvents(deps: StageDependencies, events: EventPublisher): StageDependencies {
  return { ...deps, events, lifecycle: createJobLifecycle({ jobs: deps.jobs, events }) };
}

async function submitted(text: string, runId?: string): Promise<DocumentSubmitted> {
  const jobId = newJobId();
  const contentSha256 = createHash("sha256").update(text).digest("hex");
  const submittedAt = new Date().toISOString();
  const document = { kind: "inline" as const, text };
  await summarizer.jobs.createJob({
    jobId,
    contentSha256,
    document,
    stages: ["summary", "classification"],
    submittedAt,
    ...(runId ? { runId } : {}),
  });
  return documentSubmitted.parse({
    schemaVersion: SCHEMA_VERSION,
    type: "document.submitted",
    jobId,
    submittedAt,
    contentSha256,
    document,
    stages: ["summary", "classification"],
    priority: "bulk",
    ...(runId ? { runId } : {}),
  });
}

describe("a completion whose PutEvents fails", () => {
  it("fails the delivery, and the redelivery two seconds later (inside the 30 s lease) publishes Job Completed once", async () => {
    const message = await submitted(`Invoice ${newJobId()}: 400 EUR due within 14 days.`);
    const { events, published } = flakyPublisher(classifier.events, "Job Completed");
    await createStageHandler("summary", summarizer)(message, context());

    const classify = createStageHandler("classification", withEvents(classifier, events));
    await expect(classify(message, context())).rejects.toThrow(/Service unavailable/);
    expect(await classifier.jobs.getJob(message.jobId)).toMatchObject({
      status: "complete",
      completionPublished: false,
    });

    await new Promise((resolve) => setTimeout(resolve, 2000));
    await classify(message, context());
    await classify(message, context());

    expect(published.filter((event) => event.detailType === "Job Completed")).toHaveLength(1);
    expect(await classifier.jobs.getJob(message.jobId)).toMatchObject({ completionPublished: true });
  });

  it("a duplicate delivery arriving while another holds the announcement is not acknowledged: it fails with AnnouncementPendingError", async () => {
    const message = await submitted(`Letter ${newJobId()}: dear Ms. Okafor, thank you.`);
    await createStageHandler("summary", summarizer)(message, context());
    // The winner completes the job and (we pretend) is still publishing: it holds the lease.
    const held = await classifier.jobs.completeStage(message.jobId, "classification", {
      label: "letter",
      confidence: 0.9,
      modelId: classifier.bedrock.modelId,
      promptVersion: classifier.bedrock.classificationPromptVersion,
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    });
    expect(held.lease).toBeDefined();

    const duplicate = createStageHandler("classification", classifier)(message, context());

    const error = await duplicate.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AnnouncementPendingError);
    expect((error as AnnouncementPendingError).retryAfterMs).toBeGreaterThan(25_000);
  });
});

describe("a publisher that dies between PutEvents and its mark", () => {
  it("is the one way Job Completed goes out twice: the redelivery announces again once the lease lapses, never before, and then no more", async () => {
    // A short lease (the services use 30 s) so the takeover happens within the spec.
    const leaseMs = 1500;
    const config = loadConfig({ ...devcloud.env });
    const jobs = createJobStore({
      client: createAwsClients(devcloud.env).dynamodb,
      tableName: config.QUIRE_TABLE_JOBS_NAME,
      announceLeaseMs: leaseMs,
    });
    const message = await submitted(`Memo ${newJobId()}: the office closes at noon on Friday.`);
    await createStageHandler("summary", summarizer)(message, context());
    const published: { detailType: string; detail: Record<string, unknown> }[] = [];
    // SIGKILL right after PutEvents answered: the event is on the bus, and nothing after runs.
    const dying: EventPublisher = {
      async put(type, detail) {
        const id = await classifier.events.put(type, detail);
        published.push({ detailType: type, detail: detail as Record<string, unknown> });
        if (type === "Job Completed") return new Promise<string>(() => {});
        return id;
      },
    };
    // The redelivery's publisher works and records into the same list.
    const recording = flakyPublisher(classifier.events, "none", 0, published).events;
    const deps = { ...classifier, jobs };
    void createStageHandler("classification", withEvents(deps, dying))(message, context());
    const completions = () => published.filter((event) => event.detailType === "Job Completed").length;
    while (completions() === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await jobs.getJob(message.jobId)).toMatchObject({ status: "complete", completionPublished: false });

    const redelivery = createStageHandler("classification", withEvents(deps, recording));
    // Inside the dead holder's lease: not acknowledged, nothing published.
    await expect(redelivery(message, context())).rejects.toBeInstanceOf(AnnouncementPendingError);
    expect(completions()).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, leaseMs + 100));
    await redelivery(message, context());
    await redelivery(message, context());

    expect(completions()).toBe(2);
    expect(await jobs.getJob(message.jobId)).toMatchObject({ completionPublished: true });
  });
});

describe("a failure whose PutEvents fails", () => {
  it("throws, so the message is kept; the retry announces Job Failed once", async () => {
    const message = await submitted(`Unreadable ${newJobId()}`);
    const { events, published } = flakyPublisher(summarizer.events, "Job Failed");
    const lifecycle = createJobLifecycle({ jobs: summarizer.jobs, events });
    const reason = { code: "MODEL_OUTPUT_INVALID", message: "not JSON" };

    await expect(lifecycle.failJob(message.jobId, reason, "summary")).rejects.toThrow(/Service unavailable/);
    expect(await lifecycle.failJob(message.jobId, reason, "summary")).toBe(true);
    expect(await lifecycle.failJob(message.jobId, reason, "summary")).toBe(false);

    expect(published.filter((event) => event.detailType === "Job Failed")).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ jobId: message.jobId, reason, stage: "summary" }) }),
    ]);
  });
});

describe("a run completion whose PutEvents fails", () => {
  it("fails the last job's delivery; its retry publishes Run Completed once, then Job Completed", async () => {
    const runId = newRunId();
    await summarizer.jobs.createRun({ runId, total: 1, submittedAt: new Date().toISOString() });
    const message = await submitted(`Contract ${newJobId()}: the parties agree.`, runId);
    const { events, published } = flakyPublisher(classifier.events, "Run Completed");
    await createStageHandler("summary", summarizer)(message, context());
    const classify = createStageHandler("classification", withEvents(classifier, events));

    await expect(classify(message, context())).rejects.toThrow(/Service unavailable/);
    await classify(message, context());

    expect(published.map((event) => event.detailType).filter((type) => type !== "Classification Completed")).toEqual([
      "Run Completed",
      "Job Completed",
    ]);
    expect(await classifier.jobs.getRun(runId)).toMatchObject({ completionPublished: true });
  });
});

describe("a failed job whose messages are redriven", () => {
  const redriven = (reason: { code: string; message: string }): ConsumerContext => ({
    ...context(),
    previousFailure: reason,
  });

  it("dead-letters the stage that did not run (JOB_FAILED), then on redrive goes back to work and completes: Job Completed, and Run Completed anew with the final counts", async () => {
    const runId = newRunId();
    await summarizer.jobs.createRun({ runId, total: 1, submittedAt: new Date().toISOString() });
    const message = await submitted(`Memo ${newJobId()}: the meeting moves to Friday.`, runId);
    const { events, published } = flakyPublisher(classifier.events, "nothing", 0);
    const summaryDeps = withEvents(summarizer, flakyPublisher(summarizer.events, "nothing", 0, published).events);
    const classifierDeps = withEvents(classifier, events);
    // The summary failed for a reason since fixed (say, a missing model access): the job failed, its run finished.
    const reason = { code: "MODEL_REQUEST_INVALID", message: "AccessDeniedException" };
    expect(await summaryDeps.lifecycle.failJob(message.jobId, reason, "summary")).toBe(true);
    expect(await summarizer.jobs.getRun(runId)).toMatchObject({ failed: 1, complete: 0, completionPublished: true });

    // The classification arrives after the failure: it did not run, and says why.
    const skipped = await createStageHandler("classification", classifierDeps)(message, context()).catch(
      (error: unknown) => error,
    );
    expect(skipped).toMatchObject({ name: "PermanentError", code: "JOB_FAILED" });
    expect((skipped as Error).message).toMatch(/MODEL_REQUEST_INVALID in summary/);

    // Both dead letters are redriven once the cause is fixed.
    await createStageHandler("summary", summaryDeps)(message, redriven(reason));
    await createStageHandler("classification", classifierDeps)(message, redriven({ code: "JOB_FAILED", message: "…" }));

    expect(await classifier.jobs.getJob(message.jobId)).toMatchObject({
      status: "complete",
      completionPublished: true,
    });
    expect(await classifier.jobs.getRun(runId)).toMatchObject({
      total: 1,
      complete: 1,
      failed: 0,
      completionPublished: true,
    });
    const announced = published.filter((event) =>
      ["Job Failed", "Job Completed", "Run Completed"].includes(event.detailType),
    );
    expect(
      announced.map((event) => [event.detailType, event.detail.completed ?? null, event.detail.failed ?? null]),
    ).toEqual([
      ["Job Failed", null, null],
      ["Run Completed", 0, 1],
      ["Run Completed", 1, 0],
      ["Job Completed", null, null],
    ]);
  });

  it("a redriven message for a job that is not failed is handled as any delivery (nothing reopened)", async () => {
    const message = await submitted(`Note ${newJobId()}: bring the keys.`);
    await createStageHandler("summary", summarizer)(
      message,
      redriven({ code: "RETRY_BUDGET_EXHAUSTED", message: "…" }),
    );
    expect((await summarizer.jobs.getJob(message.jobId))!.stageStates.summary.status).toBe("done");
  });
});
