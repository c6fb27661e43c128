import { createHash } from "node:crypto";
import type { ResultCacheKey } from "./schema.ts";
import { InvalidCursorError } from "./errors.ts";

/**
 * One table holds every entity (see topology `jobs`): the partition key names the entity and
 * its id, the sort key repeats the entity type so each lives in its own single-item partition
 * (a run's listing entry, see {@link runListingKey}, shares its run's).
 */
export type { ItemKey } from "@quire/dynamo";
import type { ItemKey } from "@quire/dynamo";

export const jobKey = (jobId: string): ItemKey => ({ pk: `JOB#${jobId}`, sk: "JOB" });
export const runKey = (runId: string): ItemKey => ({ pk: `RUN#${runId}`, sk: "RUN" });
export const idempotencyKey = (key: string): ItemKey => ({ pk: `IDEMPOTENCY#${key}`, sk: "IDEMPOTENCY" });
export const resultKey = (key: ResultCacheKey): ItemKey => ({ pk: `RESULT#${resultCacheHash(key)}`, sk: "RESULT" });
/** The members of one model's quota (see quota-members.ts): one partition per model, one item per member. */
export const quotaMembersPartition = (modelId: string) => `QUOTA#${modelId}`;
export const quotaMemberKey = (modelId: string, memberId: string): ItemKey => ({
  pk: quotaMembersPartition(modelId),
  sk: `MEMBER#${memberId}`,
});

/** The byRun index: a run's jobs, in jobId order (jobIds are ULIDs, so submission order). */
export const BY_RUN_INDEX = "byRun";
export const runJobsPartition = (runId: string) => `RUN#${runId}`;
export const runJobsIndexKey = (runId: string, jobId: string) => ({
  gsi1pk: runJobsPartition(runId),
  gsi1sk: `JOB#${jobId}`,
});
/**
 * Every run's listing entry, in the byRun index's one RUNS partition, in runId order (ULIDs:
 * newest last, so listed with ScanIndexForward false). An item of its own beside the run, written
 * once when the run is created and never updated: were the run item itself in the index, each of
 * its counter updates (one per job outcome) would be written again to this single partition. One
 * write per run is what one partition takes easily.
 */
export const RUNS_PARTITION = "RUNS";
export const runListingKey = (runId: string): ItemKey => ({ pk: `RUN#${runId}`, sk: "LISTING" });
export const runsIndexKey = (runId: string) => ({ gsi1pk: RUNS_PARTITION, gsi1sk: `RUN#${runId}` });

/**
 * sha256 over the parts joined by NUL (which none of them can contain), so that no two
 * different keys collide by concatenation and the partition key stays short and uniform.
 */
export function resultCacheHash(key: ResultCacheKey): string {
  return createHash("sha256")
    .update([key.contentSha256, key.stage, key.promptVersion, key.modelId].join("\u0000"))
    .digest("hex");
}

/**
 * A job's membership in its run's counts: written with the counters, in one transaction, when its
 * outcome is counted (recordRunOutcome), removed when a failure is taken back (reopenRunOutcome).
 * Beside the run item, in its partition, one small item per job: no item grows with the run.
 */
export const runMemberKey = (runId: string, jobId: string): ItemKey => ({ pk: `RUN#${runId}`, sk: `COUNTED#${jobId}` });

/** Paging cursors are the query's LastEvaluatedKey, opaque to callers. */
export function encodeCursor(lastEvaluatedKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastEvaluatedKey), "utf8").toString("base64url");
}

/** DynamoDB's bound on a sort key's size: a longer (or empty) key value is a ValidationException, not a page. */
const MAX_KEY_BYTES = 1024;

/**
 * A cursor back into the index query it came from: exactly the four key attributes, each a
 * non-empty string DynamoDB takes as a key, in `partition` (the index partition that listing
 * reads). Anything else, forged or from another listing, is an InvalidCursorError.
 */
export function decodeCursor(cursor: string, partition: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  const names = ["pk", "sk", "gsi1pk", "gsi1sk"] as const;
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Object.keys(parsed).length !== names.length ||
    !names.every((name) => {
      const value = (parsed as Record<string, unknown>)[name];
      return typeof value === "string" && value.length > 0 && Buffer.byteLength(value, "utf8") <= MAX_KEY_BYTES;
    }) ||
    // A cursor from another listing would silently page through the wrong partition.
    (parsed as Record<string, string>).gsi1pk !== partition
  ) {
    throw new InvalidCursorError(cursor);
  }
  return parsed as Record<string, string>;
}
