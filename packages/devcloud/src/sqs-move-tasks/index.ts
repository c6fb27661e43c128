import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { FauxqsServer } from "fauxqs";
import { DeadLetterOrigins } from "./origins.ts";
import { FauxqsQueues } from "./queues.ts";
import { MoveTaskManager } from "./tasks.ts";
import {
  SqsApiError,
  integerMember,
  invalidParameterValue,
  queueDoesNotExist,
  stringMember,
  writeSqsError,
  writeSqsResult,
} from "./wire.ts";

/**
 * SQS DLQ redrive, which fauxqs 2.4.1 lacks (it answers `InvalidAction`): StartMessageMoveTask,
 * ListMessageMoveTasks, CancelMessageMoveTask and ListDeadLetterSourceQueues, answered at the
 * edge in front of fauxqs with AWS's shapes and errors, so the same redrive code runs locally
 * and in AWS. Every other SQS action still goes to fauxqs unchanged.
 */
export interface SqsMoveTasks {
  /** Answers the request if it is one of the four actions; false means "forward it to fauxqs". */
  handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<boolean>;
  /** Stop the running movers (each after its current batch) and save the dead-letter origins. */
  close(): Promise<void>;
}

export interface SqsMoveTasksOptions {
  /** fauxqs, started with its message spy on (devcloud learns from it where a DLQ message came from). */
  fauxqs: Pick<FauxqsServer, "port" | "spy">;
  region: string;
  /** With a data dir, the dead-letter origins are kept in it across restarts (tasks are not). */
  dataDir: string | undefined;
  log?: (line: string) => void;
}

const ACTIONS = new Set([
  "StartMessageMoveTask",
  "ListMessageMoveTasks",
  "CancelMessageMoveTask",
  "ListDeadLetterSourceQueues",
]);

export function startSqsMoveTasks(options: SqsMoveTasksOptions): SqsMoveTasks {
  const log = options.log ?? (() => {});
  const queues = new FauxqsQueues(options.fauxqs.port, options.region);
  const origins = new DeadLetterOrigins(
    options.fauxqs.spy,
    options.dataDir ? join(options.dataDir, "sqs-dead-letter-origins.json") : undefined,
    log,
  );
  const tasks = new MoveTaskManager(queues, origins, log);

  async function listDeadLetterSourceQueues(input: Record<string, unknown>) {
    const queueUrl = stringMember(input, "QueueUrl", true);
    const maxResults = integerMember(input, "MaxResults", 1, 1000, "Must be between 1 and 1000.");
    const nextToken = stringMember(input, "NextToken");
    const queue = await queues.describeUrl(queueUrl);
    if (!queue) throw queueDoesNotExist();
    const urls = (await queues.deadLetterSources(queue.arn)).map((source) => source.url);
    // The token is the last URL answered (sources are in URL order), so a page survives queues
    // being added or deleted between calls.
    let after: string | undefined;
    if (nextToken !== undefined) {
      after = Buffer.from(nextToken, "base64url").toString("utf8");
      if (!after.startsWith("http")) throw invalidParameterValue("Invalid NextToken value.");
    }
    const remaining = after === undefined ? urls : urls.filter((url) => url > after);
    // Without MaxResults AWS answers up to 1,000 and never a NextToken.
    const page = remaining.slice(0, maxResults ?? 1000);
    const more = maxResults !== undefined && remaining.length > page.length;
    return { queueUrls: page, ...(more ? { NextToken: Buffer.from(page.at(-1)!, "utf8").toString("base64url") } : {}) };
  }

  return {
    async handle(req, body, res) {
      const target = req.headers["x-amz-target"];
      const action =
        typeof target === "string" && target.startsWith("AmazonSQS.") ? target.slice("AmazonSQS.".length) : undefined;
      if (!action || !ACTIONS.has(action)) return false;
      try {
        const input = parseInput(body);
        const result =
          action === "StartMessageMoveTask"
            ? await tasks.start(input)
            : action === "ListMessageMoveTasks"
              ? await tasks.list(input)
              : action === "CancelMessageMoveTask"
                ? await tasks.cancel(input)
                : await listDeadLetterSourceQueues(input);
        writeSqsResult(res, result);
      } catch (error) {
        writeSqsError(
          res,
          error instanceof SqsApiError
            ? error
            : new SqsApiError("InternalError", String((error as Error)?.message ?? error), {
                status: 500,
                fault: "Receiver",
              }),
        );
      }
      return true;
    },
    async close() {
      await tasks.close();
      origins.close();
      queues.close();
    },
  };
}

function parseInput(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new SqsApiError("SerializationException", "The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SqsApiError("SerializationException", "The request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}
