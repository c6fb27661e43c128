/**
 * The batch inference part of Bedrock's control-plane API (restJson1, signing name `bedrock`, as
 * `@aws-sdk/client-bedrock` speaks it): routes, request parsing, and the job as the SDK reads it
 * (timestamps as ISO 8601 strings, each data config a one-member union).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { BedrockError, writeJson } from "../wire.ts";
import type { BatchJob, BatchJobs } from "./jobs.ts";

/** Whether `path` belongs to the batch API (else it is the runtime's). */
export const isBatchPath = (path: string) =>
  path === "/model-invocation-job" || path.startsWith("/model-invocation-job/") || path === "/model-invocation-jobs";

export async function handleBatchRequest(
  jobs: BatchJobs,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://bedrock");
  const path = url.pathname;
  const method = req.method ?? "GET";
  if (method === "POST" && path === "/model-invocation-job") {
    return writeJson(res, 200, jobs.create(parseBody(body)));
  }
  if (method === "GET" && path === "/model-invocation-jobs") {
    const query = url.searchParams;
    const time = (name: string) => {
      const value = query.get(name);
      if (value === null) return undefined;
      const parsed = Date.parse(value);
      if (Number.isNaN(parsed)) throw new BedrockError("ValidationException", `${name} is not a valid timestamp.`);
      return parsed;
    };
    const sortOrder = query.get("sortOrder") ?? undefined;
    if (sortOrder !== undefined && sortOrder !== "Ascending" && sortOrder !== "Descending") {
      throw new BedrockError(
        "ValidationException",
        `1 validation error detected: Value '${sortOrder}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]`,
      );
    }
    const maxResults = query.get("maxResults");
    const page = jobs.list({
      statusEquals: query.get("statusEquals") ?? undefined,
      nameContains: query.get("nameContains") ?? undefined,
      submitTimeAfter: time("submitTimeAfter"),
      submitTimeBefore: time("submitTimeBefore"),
      sortOrder,
      maxResults: maxResults === null ? undefined : Number(maxResults),
      nextToken: query.get("nextToken") ?? undefined,
    });
    return writeJson(res, 200, {
      invocationJobSummaries: page.jobs.map(describeJob),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    });
  }
  const match = /^\/model-invocation-job\/([^/]+)(\/stop)?$/.exec(path);
  if (match) {
    const identifier = decodeURIComponent(match[1]!);
    if (method === "GET" && !match[2]) return writeJson(res, 200, describeJob(jobs.get(identifier)));
    if (method === "POST" && match[2]) {
      jobs.stop(identifier);
      return writeJson(res, 200, {});
    }
  }
  throw new BedrockError(
    "UnknownOperationException",
    `No Bedrock batch inference operation matches ${method} ${path}.`,
  );
}

function parseBody(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = body.length ? JSON.parse(body.toString("utf8")) : {};
  } catch {
    throw new BedrockError("ValidationException", "The request body is not valid JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BedrockError("ValidationException", "The request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}

/** A job as GetModelInvocationJob (and each ListModelInvocationJobs summary) answers it. */
export function describeJob(job: BatchJob): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const described: Record<string, unknown> = {
    jobArn: job.jobArn,
    jobName: job.jobName,
    modelId: job.modelId,
    clientRequestToken: job.clientRequestToken,
    roleArn: job.roleArn,
    status: job.status,
    message: job.message,
    submitTime: iso(job.submitTime),
    lastModifiedTime: iso(job.lastModifiedTime),
    endTime: iso(job.endTime),
    inputDataConfig: job.inputDataConfig,
    outputDataConfig: job.outputDataConfig,
    vpcConfig: job.vpcConfig,
    timeoutDurationInHours: job.timeoutDurationInHours,
    jobExpirationTime: iso(job.jobExpirationTime),
    modelInvocationType: job.modelInvocationType,
    totalRecordCount: job.totalRecordCount,
    processedRecordCount: job.processedRecordCount,
    successRecordCount: job.successRecordCount,
    errorRecordCount: job.errorRecordCount,
  };
  for (const key of Object.keys(described)) if (described[key] === undefined) delete described[key];
  return described;
}
