import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  JobNotCompleteError,
  JobNotFoundError,
  StageNotRequestedError,
  type JobStore,
  type StageOutcome,
} from "../src/index.ts";
import {
  classification,
  jobInput,
  manualClock,
  newJobId,
  startTestCloud,
  summary,
  type TestCloud,
} from "./support/store.ts";

let cloud: TestCloud;
let store: JobStore;

beforeAll(async () => {
  cloud = await startTestCloud();
  store = cloud.store();
});
afterAll(() => cloud?.stop());

const reason = { code: "MODEL_OUTPUT_INVALID", message: "The model answered with something that is not JSON." };

describe("createJob", () => {
  it("stores a pending job with both stages pending and its completion unpublished", async () => {
    const input = jobInput({ title: "Quarterly report", metadata: { team: "finance", pages: 3 } });
    const { created, job } = await store.createJob(input);
    expect(created).toBe(true);
    expect(job).toMatchObject({
      jobId: input.jobId,
      status: "pending",
      title: "Quarterly report",
      metadata: { team: "finance", pages: 3 },
      stages: ["summary", "classification"],
      stageStates: { summary: { status: "pending", attempts: 0 }, classification: { status: "pending", attempts: 0 } },
      completionPublished: false,
    });
    expect(await store.getJob(input.jobId)).toEqual(job);
  });

  it("is idempotent on jobId: a second call returns created:false and the existing job", async () => {
    const input = jobInput({ title: "first" });
    const first = await store.createJob(input);
    const second = await store.createJob({ ...input, title: "second" });
    expect(second.created).toBe(false);
    expect(second.job).toEqual(first.job);
  });

  it("getJob answers undefined for an unknown job", async () => {
    expect(await store.getJob(newJobId())).toBeUndefined();
  });
});

describe("startStage", () => {
  it("moves the job pending → processing and counts attempts per stage", async () => {
    const { job } = await store.createJob(jobInput());
    const first = await store.startStage(job.jobId, "summary");
    expect(first.status).toBe("processing");
    expect(first.stageStates.summary).toMatchObject({ status: "processing", attempts: 1 });
    expect(first.stageStates.summary.startedAt).toBeDefined();

    const again = await store.startStage(job.jobId, "summary");
    expect(again.stageStates.summary.attempts).toBe(2);
    expect(again.stageStates.summary.startedAt).toBe(first.stageStates.summary.startedAt);
    expect(again.stageStates.classification).toMatchObject({ status: "pending", attempts: 0 });
  });

  it("is a no-op for a stage already done and returns its stored result", async () => {
    const { job } = await store.createJob(jobInput());
    await store.startStage(job.jobId, "summary");
    await store.completeStage(job.jobId, "summary", summary("kept"));
    const restarted = await store.startStage(job.jobId, "summary");
    expect(restarted.stageStates.summary).toMatchObject({ status: "done", attempts: 1, result: { text: "kept" } });
  });

  it("throws JobNotFoundError for an unknown job and writes nothing", async () => {
    const jobId = newJobId();
    await expect(store.startStage(jobId, "summary")).rejects.toBeInstanceOf(JobNotFoundError);
    expect(await store.getJob(jobId)).toBeUndefined();
  });

  it("throws StageNotRequestedError for a stage the job did not ask for", async () => {
    const { job } = await store.createJob(jobInput({ stages: ["summary"] }));
    await expect(store.startStage(job.jobId, "classification")).rejects.toBeInstanceOf(StageNotRequestedError);
    await expect(store.completeStage(job.jobId, "classification", classification())).rejects.toBeInstanceOf(
      StageNotRequestedError,
    );
  });
});

describe("completeStage", () => {
  it("stores the result once: a duplicate is a no-op that keeps the first result", async () => {
    const { job } = await store.createJob(jobInput());
    const first = await store.completeStage(job.jobId, "summary", summary("first"));
    expect(first.duplicate).toBe(false);
    expect(first.completion).toBeUndefined();
    expect(first.job.status).toBe("processing");
    expect(first.job.stageStates.summary).toMatchObject({ status: "done", result: { text: "first" } });

    const duplicate = await store.completeStage(job.jobId, "summary", summary("second"));
    expect(duplicate.duplicate).toBe(true);
    expect(duplicate.completion).toBeUndefined();
    expect(duplicate.job.stageStates.summary.result?.text).toBe("first");
  });

  it("completes the job on the last requested stage and hands that caller the completion", async () => {
    const { job } = await store.createJob(jobInput());
    await store.completeStage(job.jobId, "classification", classification("letter"));
    const last = await store.completeStage(job.jobId, "summary", summary());
    expect(last.completion).toBeDefined();
    expect(last.completion).toEqual(last.job);
    expect(last.job).toMatchObject({ status: "complete", completionPublished: false });
    expect(last.job.completedAt).toBe(last.job.stageStates.summary.completedAt);
    expect(last.job.stageStates.classification.result?.label).toBe("letter");
  });

  it("completes a single-stage job with that stage's result", async () => {
    const { job } = await store.createJob(jobInput({ stages: ["summary"] }));
    const outcome = await store.completeStage(job.jobId, "summary", summary());
    expect(outcome.completion?.status).toBe("complete");
  });

  it("rejects a result that does not fit the stage's schema", async () => {
    const { job } = await store.createJob(jobInput());
    const bad = { ...classification(), confidence: 7 };
    await expect(store.completeStage(job.jobId, "classification", bad)).rejects.toThrow();
    expect((await store.getJob(job.jobId))?.stageStates.classification.status).toBe("pending");
  });

  it("gives exactly one completion per job when both stages and duplicate deliveries race", async () => {
    const jobs = await Promise.all(Array.from({ length: 30 }, () => store.createJob(jobInput()).then((r) => r.job)));
    const outcomes = await Promise.all(
      jobs.map((job) =>
        Promise.all([
          store.completeStage(job.jobId, "summary", summary("a")),
          store.completeStage(job.jobId, "classification", classification("invoice")),
          store.completeStage(job.jobId, "summary", summary("b")),
          store.completeStage(job.jobId, "classification", classification("letter")),
        ]),
      ),
    );
    for (const [index, perJob] of outcomes.entries()) {
      const completions = perJob.filter((o: StageOutcome) => o.completion);
      expect(completions).toHaveLength(1);
      expect(perJob.filter((o) => o.duplicate)).toHaveLength(2);
      const stored = await store.getJob(jobs[index]!.jobId);
      expect(stored?.status).toBe("complete");
      expect(stored?.stageStates.summary.result).toBeDefined();
      expect(stored?.stageStates.classification.result).toBeDefined();
      expect(completions[0]!.completion).toEqual(stored);
    }
  });
});

describe("DynamoDB calls per document", () => {
  it("takes 6 calls from submission to a published completion when nothing is duplicated", async () => {
    const { store: counted, calls } = cloud.countingStore();
    const { job } = await counted.createJob(jobInput());
    await Promise.all([counted.startStage(job.jobId, "summary"), counted.startStage(job.jobId, "classification")]);
    const outcomes = await Promise.all([
      counted.completeStage(job.jobId, "summary", summary()),
      counted.completeStage(job.jobId, "classification", classification()),
    ]);
    expect(outcomes.filter((o) => o.completion)).toHaveLength(1);
    await counted.markCompletionPublished(job.jobId);
    expect(calls()).toEqual({ PutItemCommand: 1, UpdateItemCommand: 5 });
  });
});

describe("completion announcement", () => {
  it("re-announces a completion never marked published to the next delivery once the winner's lease ran out", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const { job } = await leased.createJob(jobInput());
    await leased.completeStage(job.jobId, "summary", summary());
    const won = await leased.completeStage(job.jobId, "classification", classification());
    expect(won.completion).toBeDefined();

    // The winner is still publishing: a duplicate racing it must not announce a second time.
    clock.advance(5_000);
    expect((await leased.completeStage(job.jobId, "summary", summary())).completion).toBeUndefined();

    // The winner crashed before markCompletionPublished; its message comes back after the visibility timeout.
    clock.advance(120_000);
    const redelivered = await Promise.all([
      leased.completeStage(job.jobId, "classification", classification()),
      leased.completeStage(job.jobId, "classification", classification()),
      leased.completeStage(job.jobId, "summary", summary()),
    ]);
    const again = redelivered.filter((o) => o.completion);
    expect(again).toHaveLength(1);
    expect(again[0]!.duplicate).toBe(true);
    expect(again[0]!.completion).toMatchObject({ jobId: job.jobId, status: "complete", completionPublished: false });
  });

  it("never re-announces after markCompletionPublished", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const { job } = await leased.createJob(jobInput());
    await leased.completeStage(job.jobId, "summary", summary());
    await leased.completeStage(job.jobId, "classification", classification());
    await leased.markCompletionPublished(job.jobId);
    await leased.markCompletionPublished(job.jobId); // idempotent

    clock.advance(10 * 60_000);
    const later = await leased.completeStage(job.jobId, "classification", classification());
    expect(later).toMatchObject({ duplicate: true, job: { completionPublished: true, status: "complete" } });
    expect(later.completion).toBeUndefined();
  });

  it("tells a delivery that finds the completion held by a live lease to wait (not acknowledge), with how long", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const { job } = await leased.createJob(jobInput());
    await leased.completeStage(job.jobId, "summary", summary());
    expect((await leased.completeStage(job.jobId, "classification", classification())).lease).toBeDefined();

    clock.advance(5_000);
    const racing = await leased.completeStage(job.jobId, "summary", summary());

    expect(racing.completion).toBeUndefined();
    expect(racing.announcementHeldMs).toBe(25_000);
  });

  it("hands the completion to the next delivery at once when its holder released the lease after a failed publish", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const { job } = await leased.createJob(jobInput());
    await leased.completeStage(job.jobId, "summary", summary());
    const won = await leased.completeStage(job.jobId, "classification", classification());
    await leased.releaseCompletion(job.jobId, won.lease!);

    clock.advance(2_000);
    const retried = await leased.completeStage(job.jobId, "classification", classification());

    expect(retried.completion).toMatchObject({ jobId: job.jobId, status: "complete" });
    expect(retried.lease).toBeDefined();
    expect(retried.announcementHeldMs).toBeUndefined();
  });

  it("a stale release (the lease lapsed and was taken over) leaves the new holder's lease alone", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const { job } = await leased.createJob(jobInput());
    await leased.completeStage(job.jobId, "summary", summary());
    const first = await leased.completeStage(job.jobId, "classification", classification());
    clock.advance(31_000);
    const second = await leased.completeStage(job.jobId, "summary", summary());
    expect(second.lease).toBeDefined();

    await leased.releaseCompletion(job.jobId, first.lease!);

    expect((await leased.completeStage(job.jobId, "summary", summary())).announcementHeldMs).toBeGreaterThan(0);
  });

  it("refuses to mark a job published that is not complete", async () => {
    const { job } = await store.createJob(jobInput());
    await expect(store.markCompletionPublished(job.jobId)).rejects.toBeInstanceOf(JobNotCompleteError);
    await expect(store.markCompletionPublished(newJobId())).rejects.toBeInstanceOf(JobNotFoundError);
  });
});

describe("failure announcement", () => {
  it("the caller that fails the job gets the Job Failed lease; a concurrent one waits; after a release the next claims it; once marked, nobody", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const { job } = await leased.createJob(jobInput());

    const first = await leased.failJob(job.jobId, reason, "summary");
    expect(first).toMatchObject({ failedNow: true, lease: expect.any(String) });
    const racing = await leased.failJob(job.jobId, reason, "classification");
    expect(racing).toMatchObject({ failedNow: false, announcementHeldMs: 30_000 });

    await leased.releaseFailure(job.jobId, first.lease!);
    const retried = await leased.failJob(job.jobId, reason, "summary");
    expect(retried).toMatchObject({ failedNow: false, lease: expect.any(String) });

    await leased.markFailurePublished(job.jobId);
    clock.advance(60_000);
    const later = await leased.failJob(job.jobId, reason, "summary");
    expect(later.lease).toBeUndefined();
    expect(later.announcementHeldMs).toBeUndefined();
  });
});

describe("failJob", () => {
  it("fails a job once: of concurrent callers only one gets failedNow", async () => {
    const { job } = await store.createJob(jobInput());
    await store.startStage(job.jobId, "classification");
    const results = await Promise.all(
      Array.from({ length: 5 }, () => store.failJob(job.jobId, reason, "classification")),
    );
    expect(results.filter((r) => r.failedNow)).toHaveLength(1);
    const failed = await store.getJob(job.jobId);
    expect(failed).toMatchObject({ status: "failed", error: reason, failedStage: "classification" });
    expect(failed?.failedAt).toBeDefined();
    for (const r of results) expect(r.job?.status).toBe("failed");
  });

  it("reopenJob takes a failure back once (a redrive): the job works again, keeps its done stages, and says when it was reopened", async () => {
    const { job } = await store.createJob(jobInput());
    await store.completeStage(job.jobId, "summary", summary());
    await store.failJob(job.jobId, reason, "classification");
    const reopened = await Promise.all([store.reopenJob(job.jobId), store.reopenJob(job.jobId)]);
    expect(reopened.filter(Boolean)).toHaveLength(1);
    const after = await store.getJob(job.jobId);
    expect(after).toMatchObject({ status: "processing", reopenedAt: expect.any(String) });
    expect(after?.error).toBeUndefined();
    expect(after?.stageStates.summary.result).toBeDefined();
    // Not failed: nothing to take back.
    expect(await store.reopenJob(job.jobId)).toBe(false);
  });

  it("answers failedNow:false and no job for an unknown job", async () => {
    expect(await store.failJob(newJobId(), reason)).toEqual({ failedNow: false, job: undefined });
  });

  it("a failed job cannot complete: stage results are not recorded and no completion is given", async () => {
    const { job } = await store.createJob(jobInput());
    await store.completeStage(job.jobId, "summary", summary());
    await store.failJob(job.jobId, reason, "classification");
    const late = await store.completeStage(job.jobId, "classification", classification());
    expect(late.duplicate).toBe(true);
    expect(late.completion).toBeUndefined();
    expect(late.job.status).toBe("failed");
    expect(late.job.stageStates.classification.result).toBeUndefined();
    // A redelivered message for the failed job sees it terminal and can skip work.
    expect((await store.startStage(job.jobId, "classification")).status).toBe("failed");
  });

  it("a complete job cannot fail", async () => {
    const { job } = await store.createJob(jobInput());
    await store.completeStage(job.jobId, "summary", summary());
    await store.completeStage(job.jobId, "classification", classification());
    const attempt = await store.failJob(job.jobId, reason);
    expect(attempt.failedNow).toBe(false);
    expect(attempt.job).toMatchObject({ status: "complete" });
    expect(attempt.job?.error).toBeUndefined();
  });

  it("a job racing completion and failure ends either complete with one completion or failed, never both", async () => {
    const jobs = await Promise.all(Array.from({ length: 20 }, () => store.createJob(jobInput()).then((r) => r.job)));
    await Promise.all(jobs.map((job) => store.completeStage(job.jobId, "summary", summary())));
    const raced = await Promise.all(
      jobs.map((job) =>
        Promise.all([
          store.completeStage(job.jobId, "classification", classification()),
          store.failJob(job.jobId, reason),
        ]),
      ),
    );
    for (const [index, [outcome, failure]] of raced.entries()) {
      const stored = await store.getJob(jobs[index]!.jobId);
      expect(Boolean(outcome.completion) !== failure.failedNow).toBe(true);
      expect(stored?.status).toBe(outcome.completion ? "complete" : "failed");
    }
  });
});
