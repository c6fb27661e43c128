import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { createAnnouncements, runCompletion } from "./announcement.ts";
import { conditionally, isConditionFailure, type StoreContext } from "./dynamo.ts";
import { RunNotFoundError } from "./errors.ts";
import { isRunComplete, jobFilterExpression, toJob, toRun, type JobFilter } from "./items.ts";
import {
  BY_RUN_INDEX,
  decodeCursor,
  encodeCursor,
  jobKey,
  runJobsPartition,
  runKey,
  runListingKey,
  runMemberToken,
  RUNS_PARTITION,
  runsIndexKey,
} from "./keys.ts";
import type { Job, Run, RunOutcome, RunUsage } from "./schema.ts";

export interface CreateRunInput {
  runId: string;
  total: number;
  submittedAt: string;
  deadline?: string | undefined;
  budget?: { usd?: number | undefined; tokens?: number | undefined } | undefined;
  /** The deadline plan the run was given at submission (the API's shape; stored as it is, for reading back). */
  plan?: Record<string, unknown> | undefined;
}

/** What recording a job's outcome tells its caller about "Run Completed". */
export interface RunOutcomeRecorded {
  /**
   * The finished run, when "Run Completed" is this caller's to publish (then markRunCompletionPublished, or
   * releaseRunCompletion with `lease`).
   */
  runCompleted: Run | undefined;
  lease?: string;
  /** The run is finished but another caller is announcing it: do not acknowledge yet; retry after this long. */
  announcementHeldMs?: number;
}

/** Everything a run read needs: all but `countedJobs`. */
const RUN_ATTRIBUTES = [
  "runId",
  "total",
  "started",
  "finished",
  "complete",
  "failed",
  "countsByClassification",
  "startedAt",
  "deadline",
  "plan",
  "budget",
  "updatedAt",
  "lastOutcomeAt",
  "announceLeaseAt",
  "completionPublished",
  "inputTokens",
  "outputTokens",
  "costMicroUsd",
  "unpricedJobs",
] as const;

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
/** listRuns reads each listed run whole (one GetItem each): a smaller page than a run's jobs. */
const DEFAULT_RUNS_PAGE = 20;
const MAX_RUNS_PAGE = 100;

const pageSize = (limit: number | undefined, fallback: number, max: number) =>
  Math.min(max, Math.max(1, Math.floor(limit ?? fallback)));

/**
 * The ADD clauses that count (sign 1) or take back (sign −1) a job's usage in its run: its tokens,
 * and its cost — or, when its model had no price, one more unpriced job.
 */
function usageUpdate(usage: RunUsage | undefined, sign: 1 | -1) {
  if (!usage) return { add: [] as string[], names: {}, values: {} };
  const priced = usage.costMicroUsd !== undefined;
  return {
    add: [
      "#inputTokens :inputTokens",
      "#outputTokens :outputTokens",
      priced ? "#costMicroUsd :costMicroUsd" : "#unpricedJobs :unpricedJob",
    ],
    names: {
      "#inputTokens": "inputTokens",
      "#outputTokens": "outputTokens",
      ...(priced ? { "#costMicroUsd": "costMicroUsd" } : { "#unpricedJobs": "unpricedJobs" }),
    },
    values: {
      ":inputTokens": sign * usage.inputTokens,
      ":outputTokens": sign * usage.outputTokens,
      ...(priced ? { ":costMicroUsd": sign * usage.costMicroUsd! } : { ":unpricedJob": sign }),
    },
  };
}

export function createRunOperations(ctx: StoreContext) {
  const announcements = createAnnouncements(ctx);
  const at = () => ctx.now().toISOString();

  async function createRun(input: CreateRunInput): Promise<{ created: boolean; run: Run }> {
    // A run of 0 would never see the outcome that completes it.
    if (!Number.isInteger(input.total) || input.total < 1)
      throw new RangeError(`A run needs a positive total, not ${input.total}.`);
    const item = {
      ...runKey(input.runId),
      entity: "run",
      runId: input.runId,
      total: input.total,
      // complete + failed, kept as its own counter so a condition can compare it with total.
      finished: 0,
      started: 0,
      complete: 0,
      failed: 0,
      countsByClassification: {},
      // Tokens of the jobs counted so far (see recordRunOutcome); a map, so that an update
      // touching one entry returns only that entry, not thousands.
      countedJobs: {},
      startedAt: input.submittedAt,
      deadline: input.deadline,
      ...(input.plan ? { plan: input.plan } : {}),
      ...(input.budget ? { budget: input.budget } : {}),
      updatedAt: at(),
      completionPublished: false,
    };
    const run = toRun(item);
    // The listing entry first (an idempotent put): a run is never missing from listRuns, and an
    // entry whose run was never written (that write failed) is skipped there.
    await ctx.db.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...runListingKey(input.runId), ...runsIndexKey(input.runId), entity: "runListing", runId: input.runId },
      }),
    );
    try {
      await ctx.db.send(
        new PutCommand({ TableName: ctx.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
      );
      return { created: true, run };
    } catch (error) {
      if (!isConditionFailure(error)) {
        // The run was not written: its listing entry goes too (best effort; listRuns skips it anyway).
        await ctx.db
          .send(new DeleteCommand({ TableName: ctx.tableName, Key: runListingKey(input.runId) }))
          .catch(() => {});
        throw error;
      }
      const existing = await readRun(input.runId);
      if (!existing) throw error;
      return { created: false, run: toRun(existing) };
    }
  }

  /** The run without its `countedJobs` map, which grows with the run and no reader needs. */
  async function readRun(runId: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await ctx.db.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: runKey(runId),
        ConsistentRead: true,
        ProjectionExpression: RUN_ATTRIBUTES.map((_, i) => `#a${i}`).join(", "),
        ExpressionAttributeNames: Object.fromEntries(RUN_ATTRIBUTES.map((name, i) => [`#a${i}`, name])),
      }),
    );
    return Item;
  }

  async function getRun(runId: string): Promise<Run | undefined> {
    const item = await readRun(runId);
    return item ? toRun(item) : undefined;
  }

  /**
   * One atomic write per outcome: ADD the counters and, when a jobId is given, mark the job's
   * token in the run's `countedJobs`, on condition that the run is not yet full and the job was
   * not counted. `finished` reaches `total` in exactly one write; its caller gets `runCompleted`
   * (after one read for the whole run: the write returns only what it changed).
   */
  async function recordRunOutcome(runId: string, outcome: RunOutcome): Promise<RunOutcomeRecorded> {
    const complete = outcome.status === "complete";
    if (complete && outcome.label.length === 0)
      throw new RangeError("A complete outcome needs its classification label.");
    const now = at();
    const token = outcome.jobId === undefined ? undefined : runMemberToken(outcome.jobId);
    // `#total = #total` changes nothing; it makes UPDATED_NEW return total beside finished.
    const set = ["#lastOutcomeAt = :now", "#lease = :now", "#updatedAt = :now", "#total = #total"];
    if (complete) set.push("#counts.#label = if_not_exists(#counts.#label, :zero) + :one");
    if (token) set.push("#counted.#token = :true");
    const add = ["#finished :one", `${complete ? "#complete" : "#failed"} :one`];
    // The job's usage is added by the same conditional write that counts it: once, like the count.
    const usage = usageUpdate(outcome.usage, 1);
    add.push(...usage.add);
    let condition = "attribute_exists(pk) AND #finished < #total";
    if (token) condition += " AND attribute_not_exists(#counted.#token)";
    try {
      const { Attributes } = await ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: runKey(runId),
          UpdateExpression: `SET ${set.join(", ")} ADD ${add.join(", ")}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: {
            "#lastOutcomeAt": "lastOutcomeAt",
            "#lease": "announceLeaseAt",
            "#updatedAt": "updatedAt",
            "#finished": "finished",
            "#total": "total",
            ...(complete
              ? { "#complete": "complete", "#counts": "countsByClassification", "#label": outcome.label }
              : { "#failed": "failed" }),
            ...(token ? { "#counted": "countedJobs", "#token": token } : {}),
            ...usage.names,
          },
          ExpressionAttributeValues: {
            ":now": now,
            ":one": 1,
            ...(complete ? { ":zero": 0 } : {}),
            ...(token ? { ":true": true } : {}),
            ...usage.values,
          },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      if (!isRunComplete(Attributes!)) return { runCompleted: undefined };
      // No outcome can be counted any more (finished = total), so this read is the final run.
      // The completing write took the announcement lease (#lease = :now).
      const run = await readRun(runId);
      return run ? { runCompleted: toRun(run), lease: now } : { runCompleted: undefined };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Counted already (a re-announced job) or the run is full: nothing to add. If the run is
    // complete and "Run Completed" is not out, claim it — or, held by another, wait for it.
    const item = await readRun(runId);
    if (!item) throw new RunNotFoundError(runId);
    const claim = await announcements.claim(runCompletion, runKey(runId), item);
    if (claim.status === "claimed") return { runCompleted: toRun(item), lease: claim.leaseAt };
    if (claim.status === "held") return { runCompleted: undefined, announcementHeldMs: claim.retryAfterMs };
    return { runCompleted: undefined };
  }

  /** After "Run Completed" went out; until then a repeated outcome may re-announce it (see above). */
  async function markRunCompletionPublished(runId: string): Promise<void> {
    if (await announcements.markPublished(runCompletion, runKey(runId))) return;
    if (!(await readRun(runId))) throw new RunNotFoundError(runId);
    throw new Error(`Run ${runId} is not complete.`);
  }

  /**
   * Take a failed job's outcome back out of its run (the job was redriven and goes back to work):
   * finished and failed drop by one, the job's token is removed so its next outcome counts, and a
   * finished run is open again — when it finishes anew, "Run Completed" is announced again with
   * the final counts. Once per counted outcome (conditional on the token); false otherwise.
   */
  async function reopenRunOutcome(runId: string, jobId: string, usage?: RunUsage): Promise<boolean> {
    const token = runMemberToken(jobId);
    // The usage its failed outcome added goes too: its next outcome counts the results it then has.
    const taken = usageUpdate(usage, -1);
    return conditionally(() =>
      ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: runKey(runId),
          UpdateExpression: `REMOVE #counted.#token, #lease SET #published = :false, #updatedAt = :now ADD ${["#finished :minus", "#failed :minus", ...taken.add].join(", ")}`,
          ConditionExpression: "attribute_exists(#counted.#token) AND #failed > :zero",
          ExpressionAttributeNames: {
            "#counted": "countedJobs",
            "#token": token,
            "#lease": "announceLeaseAt",
            "#published": "completionPublished",
            "#updatedAt": "updatedAt",
            "#finished": "finished",
            "#failed": "failed",
            ...taken.names,
          },
          ExpressionAttributeValues: { ":false": false, ":now": at(), ":minus": -1, ":zero": 0, ...taken.values },
        }),
      ),
    );
  }

  /** After a failed "Run Completed" publish: the next outcome for the run may claim it at once. */
  const releaseRunCompletion = (runId: string, lease: string) =>
    announcements.release(runCompletion, runKey(runId), lease);

  /**
   * A run's jobs in submission order, a page at a time, through the byRun index (eventually
   * consistent in AWS). `filter` is applied by DynamoDB to each page after it is read (a
   * FilterExpression): a filtered page may hold fewer than `limit` jobs, or none, and still have a
   * `cursor` — keep following it until there is none. Pages stay exact and stable that way: each
   * job is read once, in order, whatever the filter keeps.
   */
  async function listRunJobs(
    runId: string,
    options: { limit?: number; cursor?: string; filter?: JobFilter } = {},
  ): Promise<{ jobs: Job[]; cursor?: string }> {
    const filter = jobFilterExpression(options.filter ?? {});
    const { Items = [], LastEvaluatedKey } = await ctx.db.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: BY_RUN_INDEX,
        KeyConditionExpression: "gsi1pk = :run",
        ExpressionAttributeValues: { ":run": runJobsPartition(runId), ...filter?.values },
        ...(filter ? { FilterExpression: filter.expression, ExpressionAttributeNames: filter.names } : {}),
        Limit: pageSize(options.limit, DEFAULT_PAGE, MAX_PAGE),
        ...(options.cursor ? { ExclusiveStartKey: decodeCursor(options.cursor, runJobsPartition(runId)) } : {}),
      }),
    );
    const jobs = Items.map(toJob);
    return LastEvaluatedKey ? { jobs, cursor: encodeCursor(LastEvaluatedKey) } : { jobs };
  }

  /**
   * Runs, newest first, a page at a time: the listing entries (see createRun) through the byRun
   * index, then each run read as getRun reads it (strongly consistent, counts included). An entry
   * whose run is gone (its submission failed) is left out, so a page may be short.
   */
  async function listRuns(
    options: { limit?: number; cursor?: string } = {},
  ): Promise<{ runs: Run[]; cursor?: string }> {
    const { Items = [], LastEvaluatedKey } = await ctx.db.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: BY_RUN_INDEX,
        KeyConditionExpression: "gsi1pk = :runs",
        ExpressionAttributeValues: { ":runs": RUNS_PARTITION },
        ProjectionExpression: "runId",
        ScanIndexForward: false,
        Limit: pageSize(options.limit, DEFAULT_RUNS_PAGE, MAX_RUNS_PAGE),
        ...(options.cursor ? { ExclusiveStartKey: decodeCursor(options.cursor, RUNS_PARTITION) } : {}),
      }),
    );
    const read = await Promise.all(Items.map((entry) => readRun(entry.runId as string)));
    const runs = read.filter((item) => item !== undefined).map(toRun);
    return LastEvaluatedKey ? { runs, cursor: encodeCursor(LastEvaluatedKey) } : { runs };
  }

  /**
   * Removes what a run submission wrote before it failed, so no run waits forever on jobs that
   * were never published: each of `jobIds` still pending in this run, then the run (and its
   * listing entry), while nothing of it has started. Conditional, so a job or run that somehow
   * went further is left alone.
   */
  async function discardUnpublishedRun(runId: string, jobIds: readonly string[]): Promise<void> {
    for (const jobId of jobIds) {
      await conditionally(() =>
        ctx.db.send(
          new DeleteCommand({
            TableName: ctx.tableName,
            Key: jobKey(jobId),
            // Untouched since it was written: no stage started, not failed.
            ConditionExpression:
              "runId = :run AND stageStates.summary.attempts = :zero AND stageStates.classification.attempts = :zero AND attribute_not_exists(failedAt)",
            ExpressionAttributeValues: { ":run": runId, ":zero": 0 },
          }),
        ),
      );
    }
    const discarded = await conditionally(() =>
      ctx.db.send(
        new DeleteCommand({
          TableName: ctx.tableName,
          Key: runKey(runId),
          ConditionExpression: "started = :zero AND finished = :zero",
          ExpressionAttributeValues: { ":zero": 0 },
        }),
      ),
    );
    // Its listing entry goes with it (or when the run was never written); a run kept stays listed.
    if (discarded || !(await readRun(runId)))
      await ctx.db.send(new DeleteCommand({ TableName: ctx.tableName, Key: runListingKey(runId) }));
  }

  return {
    createRun,
    discardUnpublishedRun,
    getRun,
    recordRunOutcome,
    markRunCompletionPublished,
    releaseRunCompletion,
    reopenRunOutcome,
    listRunJobs,
    listRuns,
  };
}
