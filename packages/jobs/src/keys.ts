import { createHash } from "node:crypto";
import type { ResultCacheKey } from "./schema.ts";
import { InvalidCursorError } from "./errors.ts";

/**
 * One table holds every entity (see topology `jobs`): the partition key names the entity and
 * its id, the sort key repeats the entity type so each lives in its own single-item partition.
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
export const runJobsIndexKey = (runId: string, jobId: string) => ({ gsi1pk: `RUN#${runId}`, gsi1sk: `JOB#${jobId}` });

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
 * A job's key in its run's `countedJobs` map: 72 bits of sha256, base64url. Short because
 * the map lives on the run item (10,000 jobs ≈ 160 KB of the 400 KB item limit); a collision
 * inside a run of 10,000 jobs has odds of about 10⁻¹⁴.
 */
export const runMemberToken = (jobId: string) => createHash("sha256").update(jobId).digest("base64url").slice(0, 12);

/** Paging cursors are the query's LastEvaluatedKey, opaque to callers. */
export function encodeCursor(lastEvaluatedKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastEvaluatedKey), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, runId: string): Record<string, string> {
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
    !names.every((name) => typeof (parsed as Record<string, unknown>)[name] === "string") ||
    // A cursor from another run's listing would silently page through the wrong partition.
    (parsed as Record<string, string>).gsi1pk !== `RUN#${runId}`
  ) {
    throw new InvalidCursorError(cursor);
  }
  return parsed as Record<string, string>;
}
