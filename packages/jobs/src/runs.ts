import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { createAnnouncements, runCompletion } from "./announcement.ts";
import { conditionally, isConditionFailure, transactConditionally, type StoreContext } from "./dynamo.ts";
import { RunNotFoundError } from "./errors.ts";
import { jobFilterExpression, toJob, toRun, type JobFilter } from "./items.ts";
import {
  BY_RUN_INDEX,
  decodeCursor,
  encodeCursor,
  jobKey,
  runJobsPartition,
  runKey,
  runListingKey,
  runMemberKey,
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
  /** How its model calls are made: on demand, or batch inference (with the time its fallback to on demand starts). */
  inference?: { mode: "onDemand" | "batch"; fallbackAt?: string | undefined } | undefined;
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

/**
 * Everything a run read needs, by name (a run item from before membership items also carries a
 * `countedJobs` map that grew with the run; no read fetches it).
 */
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
  "inference",
  "updatedAt",
  "lastOutcomeAt",
  "announceLeaseAt",
  "announceHolder",
  "completionPublished",
  "inputTokens",
  "outputTokens",
  "costMicroUsd",
  "unpricedJobs",
  "reopenedAt",
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
      startedAt: input.submittedAt,
      deadline: input.deadline,
      ...(input.plan ? { plan: input.plan } : {}),
      ...(input.budget ? { budget: input.budget } : {}),
      ...(input.inference ? { inference: input.inference } : {}),
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

  /** The run's own attributes (RUN_ATTRIBUTES), strongly consistent. */
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
   * One transaction per outcome: the job's membership item (`runMemberKey`, put only if absent)
   * and the run's counters (ADD, only while finished < total) are written together or not at all,
   * so an outcome is counted exactly once however often it is repeated, and no item grows with
   * the run (a run of 100,000 jobs writes 100,000 small items, never a 400 KB map). Without a
   * jobId (callers that cannot repeat an outcome), the counters alone, in one conditional write.
   *
   * Then one read: a caller that finds the run finished claims "Run Completed" under the lease
   * (see announcement.ts) — the caller that counted the last outcome, or, if it crashed before
   * claiming, any repeated outcome after it, or another caller racing it (then one claims and
   * the other is told the announcement is held).
   */
  async function recordRunOutcome(runId: string, outcome: RunOutcome): Promise<RunOutcomeRecorded> {
    const complete = outcome.status === "complete";
    if (complete && outcome.label.length === 0)
      throw new RangeError("A complete outcome needs its classification label.");
    const now = at();
    const set = ["#lastOutcomeAt = :now", "#updatedAt = :now"];
    if (complete) set.push("#counts.#label = if_not_exists(#counts.#label, :zero) + :one");
    const add = ["#finished :one", `${complete ? "#complete" : "#failed"} :one`];
    // The job's usage is added by the same write that counts it: once, like the count.
    const usage = usageUpdate(outcome.usage, 1);
    add.push(...usage.add);
    const countRun = {
      TableName: ctx.tableName,
      Key: runKey(runId),
      UpdateExpression: `SET ${set.join(", ")} ADD ${add.join(", ")}`,
      ConditionExpression: "attribute_exists(pk) AND #finished < #total",
      ExpressionAttributeNames: {
        "#lastOutcomeAt": "lastOutcomeAt",
        "#updatedAt": "updatedAt",
        "#finished": "finished",
        "#total": "total",
        ...(complete
          ? { "#complete": "complete", "#counts": "countsByClassification", "#label": outcome.label }
          : { "#failed": "failed" }),
        ...usage.names,
      },
      ExpressionAttributeValues: {
        ":now": now,
        ":one": 1,
        ...(complete ? { ":zero": 0 } : {}),
        ...usage.values,
      },
    };
    const { jobId } = outcome;
    // Counted now, or already (a repeated outcome) or never (the run is full): either way, the
    // run as it now is says whether "Run Completed" is owed.
    await (jobId === undefined
      ? conditionally(() => ctx.db.send(new UpdateCommand(countRun)))
      : transactConditionally(() =>
          ctx.db.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: ctx.tableName,
                    Item: { ...runMemberKey(runId, jobId), entity: "runMember", runId, jobId, outcome: outcome.status },
                    ConditionExpression: "attribute_not_exists(pk)",
                  },
                },
                { Update: countRun },
              ],
            }),
          ),
        ));
    const item = await readRun(runId);
    if (!item) throw new RunNotFoundError(runId);
    const claim = await announcements.claim(runCompletion, runKey(runId), item, jobId);
    if (claim.status === "claimed") return { runCompleted: toRun(item), lease: claim.leaseAt };
    // Held by a delivery of another job: that job's message is not acknowledged before "Run
    // Completed" is out, and comes back to announce it if its holder dies, so this one need not
    // wait. Held by another delivery of this same job (or by an unnamed holder), it must: were it
    // acknowledged, the message that would bring the announcement back would be gone.
    if (claim.status === "held" && (claim.holder === undefined || claim.holder === jobId))
      return { runCompleted: undefined, announcementHeldMs: claim.retryAfterMs };
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
   * its membership item goes and finished and failed drop by one, in one transaction, so its next
   * outcome counts; a finished run is open again — when it finishes anew, "Run Completed" is
   * announced again with the final counts. Once per counted failure (the membership item must say
   * failed); false otherwise.
   */
  async function reopenRunOutcome(runId: string, jobId: string, usage?: RunUsage): Promise<boolean> {
    // The usage its failed outcome added goes too: its next outcome counts the results it then has.
    const taken = usageUpdate(usage, -1);
    return transactConditionally(() =>
      ctx.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: ctx.tableName,
                Key: runMemberKey(runId, jobId),
                ConditionExpression: "#outcome = :failed",
                ExpressionAttributeNames: { "#outcome": "outcome" },
                ExpressionAttributeValues: { ":failed": "failed" },
              },
            },
            {
              Update: {
                TableName: ctx.tableName,
                Key: runKey(runId),
                UpdateExpression: `REMOVE #lease, #holder SET #published = :false, #updatedAt = :now, #reopenedAt = :now ADD ${["#finished :minus", "#failed :minus", ...taken.add].join(", ")}`,
                ConditionExpression: "#failed > :zero",
                ExpressionAttributeNames: {
                  "#lease": runCompletion.lease,
                  "#holder": runCompletion.holder!,
                  "#published": runCompletion.published,
                  "#updatedAt": "updatedAt",
                  "#reopenedAt": "reopenedAt",
                  "#finished": "finished",
                  "#failed": "failed",
                  ...taken.names,
                },
                ExpressionAttributeValues: { ":false": false, ":now": at(), ":minus": -1, ":zero": 0, ...taken.values },
              },
            },
          ],
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
