import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InvalidCursorError,
  RunNotFoundError,
  type Job,
  type JobFilter,
  type JobStatus,
  type JobStore,
  type RunOutcome,
} from "../src/index.ts";
import {
  classification,
  jobInput,
  manualClock,
  newJobId,
  newRunId,
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

  it("keeps the run item the same size however many jobs it counts: each job's membership is an item of its own", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 400, submittedAt });
    const runItemBytes = async () => {
      const { Item } = await cloud.client.send(
        new GetItemCommand({ TableName: cloud.tableName, Key: { pk: { S: `RUN#${runId}` }, sk: { S: "RUN" } } }),
      );
      return JSON.stringify(Item).length;
    };
    await store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId: newJobId() });
    const afterOne = await runItemBytes();
    const jobIds = Array.from({ length: 299 }, () => newJobId());
    for (let i = 0; i < jobIds.length; i += 25)
      await Promise.all(
        jobIds
          .slice(i, i + 25)
          .map((jobId) => store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId })),
      );
    expect(await store.getRun(runId)).toMatchObject({ complete: 300, countsByClassification: { invoice: 300 } });
    // Counter digits may grow; 300 job ids (~9 KB) may not.
    expect(await runItemBytes()).toBeLessThan(afterOne + 20);
    const { Item: member } = await cloud.client.send(
      new GetItemCommand({
        TableName: cloud.tableName,
        Key: { pk: { S: `RUN#${runId}` }, sk: { S: `COUNTED#${jobIds[0]}` } },
      }),
    );
    expect(member?.outcome).toEqual({ S: "complete" });
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

  it("of the jobs that finish a run together, one claims Run Completed and the others go on: only the holder's own job waits for it", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 6, submittedAt });
    const jobIds = Array.from({ length: 6 }, () => newJobId());
    const results = await Promise.all(
      jobIds.map((jobId) => store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId })),
    );
    const holders = results.filter((r) => r.lease);
    expect(holders).toHaveLength(1);
    expect(results.filter((r) => r.announcementHeldMs !== undefined)).toEqual([]);

    // Another delivery of the holder's job must wait; one of any other job need not.
    const holderJob = jobIds[results.indexOf(holders[0]!)]!;
    const again = (jobId: string) => store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId });
    expect((await again(holderJob)).announcementHeldMs).toBeGreaterThan(0);
    expect(await again(jobIds.find((id) => id !== holderJob)!)).toEqual({ runCompleted: undefined });
    expect(await store.getRun(runId)).toMatchObject({ complete: 6, total: 6 });
  });

  it("adds each job's usage with its outcome, once: a repeated outcome adds nothing, an unpriced job is counted apart", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 3, submittedAt });
    const [a, b, c] = [newJobId(), newJobId(), newJobId()];
    const usage = { inputTokens: 1_000, outputTokens: 200, costMicroUsd: 500 };
    await store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId: a, usage });
    await store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId: a, usage });
    await store.recordRunOutcome(runId, {
      status: "failed",
      jobId: b,
      usage: { inputTokens: 300, outputTokens: 0, costMicroUsd: 75 },
    });
    const done = await store.recordRunOutcome(runId, {
      status: "complete",
      label: "letter",
      jobId: c,
      usage: { inputTokens: 50, outputTokens: 5 },
    });
    // The completing write's read: "Run Completed" carries the final usage.
    expect(done.runCompleted).toMatchObject({
      inputTokens: 1_350,
      outputTokens: 205,
      costMicroUsd: 575,
      unpricedJobs: 1,
    });
  });

  it("a reopened failure takes its usage back with its count; the job's next outcome adds what it then has", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 1, submittedAt });
    const jobId = newJobId();
    const partial = { inputTokens: 300, outputTokens: 20, costMicroUsd: 100 };
    await store.recordRunOutcome(runId, { status: "failed", jobId, usage: partial });
    expect((await store.getRun(runId))?.reopenedAt).toBeUndefined();
    expect(await store.reopenRunOutcome(runId, jobId, partial)).toBe(true);
    // Marked reopened: a "Run Completed" put before the redrive is stale, not forged (the notifier skips it).
    expect(await store.getRun(runId)).toMatchObject({
      failed: 0,
      inputTokens: 0,
      outputTokens: 0,
      costMicroUsd: 0,
      reopenedAt: expect.any(String),
    });
    const whole = { inputTokens: 700, outputTokens: 60, costMicroUsd: 250 };
    await store.recordRunOutcome(runId, { status: "complete", label: "invoice", jobId, usage: whole });
    expect(await store.getRun(runId)).toMatchObject({
      complete: 1,
      inputTokens: 700,
      outputTokens: 60,
      costMicroUsd: 250,
    });
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

/** Every page of a run's jobs under `filter`, followed to the end. */
async function allRunJobs(runId: string, filter: JobFilter, limit = 3): Promise<{ jobs: Job[]; pages: number }> {
  const jobs: Job[] = [];
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await store.listRunJobs(runId, { limit, filter, ...(cursor ? { cursor } : {}) });
    jobs.push(...page.jobs);
    pages++;
    cursor = page.cursor;
  } while (cursor);
  return { jobs, pages };
}

describe("listRunJobs with a filter", () => {
  const reason = { code: "MODEL_OUTPUT_INVALID", message: "no JSON" };

  /** One run with a job in each way a status can come about, each one's status as getJob reads it. */
  async function runOfEveryKind() {
    const runId = newRunId();
    await store.createRun({ runId, total: 10, submittedAt });
    const create = async (title: string, stages: ("summary" | "classification")[] = ["summary", "classification"]) =>
      (await store.createJob(jobInput({ runId, title, stages }))).job.jobId;
    const pending = await create("Pending Invoice");
    const pendingSummaryOnly = await create("pending summary only", ["summary"]);
    const started = await create("started");
    await store.startStage(started, "summary");
    const halfDone = await create("half done invoice");
    await store.completeStage(halfDone, "summary", summary());
    const complete = await create("complete invoice");
    await store.completeStage(complete, "summary", summary());
    await store.completeStage(complete, "classification", classification("invoice"));
    const letter = await create("complete letter");
    await store.completeStage(letter, "summary", summary());
    await store.completeStage(letter, "classification", classification("letter"));
    const completeSummaryOnly = await create("complete summary only", ["summary"]);
    await store.completeStage(completeSummaryOnly, "summary", summary());
    const failedUnstarted = await create("failed before starting");
    await store.failJob(failedUnstarted, reason);
    const failedInStage = await create("failed invoice");
    await store.startStage(failedInStage, "classification");
    await store.failJob(failedInStage, reason, "classification");
    // Redriven: failedAt removed, its attempt kept, so it is processing again.
    const reopened = await create("reopened");
    await store.startStage(reopened, "summary");
    await store.failJob(reopened, reason, "summary");
    await store.reopenJob(reopened);
    const ids = [
      pending,
      pendingSummaryOnly,
      started,
      halfDone,
      complete,
      letter,
      completeSummaryOnly,
      failedUnstarted,
      failedInStage,
      reopened,
    ];
    const statuses = new Map<string, JobStatus>();
    for (const jobId of ids) statuses.set(jobId, (await store.getJob(jobId))!.status);
    return { runId, statuses };
  }

  it("keeps exactly the jobs getJob gives each status, for every status, in submission order", async () => {
    const { runId, statuses } = await runOfEveryKind();
    const byStatus = (status: JobStatus) =>
      [...statuses]
        .filter(([, s]) => s === status)
        .map(([jobId]) => jobId)
        .sort();
    // The run covers each status at least twice, so a wrong clause cannot pass by chance.
    for (const status of ["pending", "processing", "complete", "failed"] as const) {
      expect(byStatus(status).length, status).toBeGreaterThanOrEqual(2);
      const { jobs } = await allRunJobs(runId, { status });
      expect(
        jobs.map((job) => job.jobId),
        status,
      ).toEqual(byStatus(status));
      expect(jobs.every((job) => job.status === status)).toBe(true);
    }
  });

  it("keeps the jobs classified with a label, exactly", async () => {
    const { runId } = await runOfEveryKind();
    const { jobs } = await allRunJobs(runId, { classification: "invoice" });
    expect(jobs.map((job) => job.title)).toEqual(["complete invoice"]);
    expect((await allRunJobs(runId, { classification: "invoi" })).jobs).toEqual([]);
  });

  it("keeps the jobs whose title contains a substring, case-sensitively, and combines filters", async () => {
    const { runId } = await runOfEveryKind();
    const titles = async (filter: JobFilter) => (await allRunJobs(runId, filter)).jobs.map((job) => job.title);
    expect(await titles({ title: "invoice" })).toEqual(["half done invoice", "complete invoice", "failed invoice"]);
    expect(await titles({ title: "Invoice" })).toEqual(["Pending Invoice"]);
    expect(await titles({ title: "invoice", status: "complete" })).toEqual(["complete invoice"]);
  });

  it("keeps the jobs whose metadata has an entry, reading the value as its string, number or boolean", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 4, submittedAt });
    const create = (title: string, metadata: Record<string, string | number | boolean>) =>
      store.createJob(jobInput({ runId, title, metadata }));
    await create("by text", { matter: "A-12", page: "12" });
    await create("by number", { matter: "B-7", page: 12 });
    await create("flagged", { urgent: true, page: 3 });
    await create("another key", { "client id": "A-12" });
    const titles = async (key: string, value: string) =>
      (await allRunJobs(runId, { metadata: { key, value } })).jobs.map((job) => job.title);
    expect(await titles("matter", "A-12")).toEqual(["by text"]);
    expect(await titles("page", "12")).toEqual(["by text", "by number"]);
    expect(await titles("urgent", "true")).toEqual(["flagged"]);
    expect(await titles("client id", "A-12")).toEqual(["another key"]);
    expect(await titles("matter", "a-12")).toEqual([]);
  });

  it("reads every job once: a filtered page may be short or empty and still name the next", async () => {
    const { runId } = await runOfEveryKind();
    const first = await store.listRunJobs(runId, { limit: 1, filter: { status: "failed" } });
    // The first job of the run is pending: the page read it, kept nothing, and goes on.
    expect(first.jobs).toEqual([]);
    expect(first.cursor).toBeDefined();
    // Ten jobs, three a page: four pages however few the filter keeps.
    expect((await allRunJobs(runId, { status: "failed" })).pages).toBe(4);
  });
});

describe("listRuns", () => {
  it("lists runs newest first (by runId), a page at a time, each as getRun reads it", async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      const runId = newRunId();
      await store.createRun({ runId, total: 2, submittedAt });
      created.push(runId);
    }
    await store.recordRunOutcome(created[3]!, { status: "complete", label: "invoice" });
    await store.createJob(jobInput({ runId: created[0]! }));

    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRuns({ limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.runs.length).toBeLessThanOrEqual(3);
      for (const run of page.runs) expect(run).toEqual(await store.getRun(run.runId));
      listed.push(...page.runs.map((run) => run.runId));
      cursor = page.cursor;
    } while (cursor);

    expect(listed).toEqual([...listed].sort().reverse());
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(expect.arrayContaining(created));
    expect(listed.every((runId) => runId.startsWith("run_"))).toBe(true);
  });

  it("leaves out a run its failed submission discarded", async () => {
    const runId = newRunId();
    await store.createRun({ runId, total: 1, submittedAt });
    expect((await store.listRuns({ limit: 100 })).runs.map((run) => run.runId)).toContain(runId);
    await store.discardUnpublishedRun(runId, []);
    expect((await store.listRuns({ limit: 100 })).runs.map((run) => run.runId)).not.toContain(runId);
  });

  it("leaves nothing behind when the run itself cannot be written: no listing entry either", async () => {
    const runId = newRunId();
    // DynamoDB refuses a number this small (found by the API's fuzzer, now refused there with 400).
    await expect(store.createRun({ runId, total: 1, submittedAt, budget: { usd: 5e-324 } })).rejects.toThrow(
      /underflow/i,
    );
    const { Item } = await cloud.client.send(
      new GetItemCommand({ TableName: cloud.tableName, Key: { pk: { S: `RUN#${runId}` }, sk: { S: "LISTING" } } }),
    );
    expect(Item).toBeUndefined();
    expect(await store.getRun(runId)).toBeUndefined();
  });

  it("rejects a forged cursor, and one from a run's jobs", async () => {
    const runId = newRunId();
    await Promise.all([0, 1].map(() => store.createJob(jobInput({ runId }))));
    const { cursor: jobsCursor } = await store.listRunJobs(runId, { limit: 1 });
    await expect(store.listRuns({ cursor: jobsCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
    const forged = (key: Record<string, string>) => Buffer.from(JSON.stringify(key)).toString("base64url");
    // The right partition, but key values DynamoDB would refuse (empty, too long): refused here instead.
    for (const gsi1sk of ["", "R".repeat(1025)])
      await expect(
        store.listRuns({ cursor: forged({ pk: "RUN#x", sk: "LISTING", gsi1pk: "RUNS", gsi1sk }) }),
      ).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(store.listRuns({ cursor: "bm90IGpzb24" })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
