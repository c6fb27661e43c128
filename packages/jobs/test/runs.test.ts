import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidCursorError, RunNotFoundError, type JobStore, type RunOutcome } from "../src/index.ts";
import { jobInput, manualClock, newJobId, newRunId, startTestCloud, type TestCloud } from "./support/store.ts";

let cloud: TestCloud;
let store: JobStore;

beforeAll(async () => {
  cloud = await startTestCloud();
  store = cloud.store();
});
afterAll(() => cloud?.stop());

const submittedAt = "2030-01-01T00:00:00.000Z";

describe("createRun", () => {
  it("stores a run with zero counts and is idempotent on runId", async () => {
    const runId = newRunId();
    const first = await store.createRun({ runId, total: 3, submittedAt, deadline: "PT1H" });
    expect(first).toMatchObject({
      created: true,
      run: {
        runId,
        total: 3,
        complete: 0,
        failed: 0,
        countsByClassification: {},
        startedAt: submittedAt,
        deadline: "PT1H",
        completionPublished: false,
      },
    });
    expect(first.run.completedAt).toBeUndefined();
    const second = await store.createRun({ runId, total: 99, submittedAt });
    expect(second).toEqual({ created: false, run: first.run });
    expect(await store.getRun(runId)).toEqual(first.run);
  });

  it("rejects a run without documents", async () => {
    await expect(store.createRun({ runId: newRunId(), total: 0, submittedAt })).rejects.toBeInstanceOf(RangeError);
  });
});

describe("started jobs", () => {
  it("a job counts as started once, on the first start of any of its stages, racing or redelivered", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 3, submittedAt });
    const jobIds = [newJobId(), newJobId(), newJobId()];
    for (const jobId of jobIds) await store.createJob(jobInput({ jobId, runId }));
    await Promise.all(
      jobIds
        .slice(0, 2)
        .flatMap((jobId) => [
          store.startStage(jobId, "summary"),
          store.startStage(jobId, "classification"),
          store.startStage(jobId, "summary"),
        ]),
    );
    expect((await store.getRun(runId))!.started).toBe(2);
  });
});

describe("recordRunOutcome", () => {
  it("counts 50 concurrent outcomes exactly and hands out runCompleted exactly once", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 50, submittedAt });
    const labels = ["invoice", "letter", "contract", "label with spaces.and#marks"];
    const outcomes: RunOutcome[] = Array.from({ length: 50 }, (_, i) =>
      i % 5 === 4
        ? { status: "failed", jobId: newJobId() }
        : { status: "complete", label: labels[i % labels.length]!, jobId: newJobId() },
    );
    const results = await Promise.all(outcomes.map((outcome) => store.recordRunOutcome(runId, outcome)));

    const winners = results.filter((r) => r.runCompleted);
    expect(winners).toHaveLength(1);
    const expectedCounts: Record<string, number> = {};
    for (const o of outcomes) if (o.status === "complete") expectedCounts[o.label] = (expectedCounts[o.label] ?? 0) + 1;
    const completed = winners[0]!.runCompleted!;
    expect(completed).toMatchObject({
      runId,
      total: 50,
      complete: 40,
      failed: 10,
      countsByClassification: expectedCounts,
    });
    expect(completed.completedAt).toBeDefined();
    expect(await store.getRun(runId)).toEqual(completed);
  });

  it("counts a repeated outcome for the same job once", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 3, submittedAt });
    const jobId = newJobId();
    const repeats = await Promise.all(
      Array.from({ length: 5 }, () => store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId })),
    );
    expect(repeats.every((r) => r.runCompleted === undefined)).toBe(true);
    expect(await store.getRun(runId)).toMatchObject({ complete: 1, failed: 0, countsByClassification: { invoice: 1 } });
  });

  it("ignores outcomes beyond the run's total", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 2, submittedAt });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => store.recordRunOutcome(runId, { status: "failed" })),
    );
    expect(results.filter((r) => r.runCompleted)).toHaveLength(1);
    expect(await store.getRun(runId)).toMatchObject({ total: 2, complete: 0, failed: 2 });
  });

  it("re-announces a run completion never marked published once the lease ran out, and not after it is marked", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const runId = newRunId();
    await leased.createRun({ runId, total: 1, submittedAt });
    const jobId = newJobId();
    expect(
      (await leased.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId })).runCompleted,
    ).toBeDefined();
    // A re-announced job repeats its outcome while the run's winner may still be publishing.
    expect(
      (await leased.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId })).runCompleted,
    ).toBeUndefined();

    clock.advance(60_000);
    const repeated = await leased.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId });
    expect(repeated.runCompleted).toMatchObject({ runId, complete: 1, countsByClassification: { invoice: 1 } });

    await leased.markRunCompletionPublished(runId);
    clock.advance(60_000);
    expect(
      (await leased.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId })).runCompleted,
    ).toBeUndefined();
    expect(await leased.getRun(runId)).toMatchObject({ complete: 1, completionPublished: true });
  });

  it("tells a repeated outcome that finds Run Completed held by a live lease to wait; after a release it claims it at once", async () => {
    const clock = manualClock();
    const leased = cloud.store({ now: clock.now, announceLeaseMs: 30_000 });
    const runId = newRunId();
    await leased.createRun({ runId, total: 1, submittedAt });
    const jobId = newJobId();
    const won = await leased.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId });
    expect(won.lease).toBeDefined();

    clock.advance(1_000);
    expect(await leased.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId })).toMatchObject({
      runCompleted: undefined,
      announcementHeldMs: 29_000,
    });

    await leased.releaseRunCompletion(runId, won.lease!);
    const retried = await leased.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId });
    expect(retried.runCompleted).toMatchObject({ runId, complete: 1 });
    expect(retried.lease).toBeDefined();
  });

  it("throws RunNotFoundError for an unknown run", async () => {
    await expect(store.recordRunOutcome(newRunId(), { status: "failed" })).rejects.toBeInstanceOf(RunNotFoundError);
  });
});

describe("listRunJobs", () => {
  it("pages through a run's jobs in submission order and no others", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 25, submittedAt });
    const jobIds: string[] = [];
    for (let i = 0; i < 25; i++) jobIds.push(newJobId());
    await Promise.all(jobIds.map((jobId) => store.createJob(jobInput({ jobId, runId }))));
    await store.createJob(jobInput({ runId: newRunId() }));
    await store.createJob(jobInput());

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRunJobs(runId, { limit: 10, ...(cursor ? { cursor } : {}) });
      pages.push(page.jobs.map((j) => j.jobId));
      expect(page.jobs.every((j) => j.runId === runId && j.status === "pending")).toBe(true);
      cursor = page.cursor;
    } while (cursor);

    expect(pages.slice(0, 3).map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual([...jobIds].sort());
  });

  it("rejects a cursor from another run's listing", async () => {
    const runA = newRunId();
    const runB = newRunId();
    await Promise.all([0, 1].map(() => store.createJob(jobInput({ runId: runA }))));
    const { cursor } = await store.listRunJobs(runA, { limit: 1 });
    expect(cursor).toBeDefined();
    await expect(store.listRunJobs(runB, { cursor: cursor! })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(store.listRunJobs(runA, { cursor: "not-a-cursor" })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
