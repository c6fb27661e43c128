import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { SNS_MAX_BATCH_BYTES, SNS_MAX_BATCH_ENTRIES } from "../limits.ts";
import { AwsServiceError, writeQueryError } from "./aws-errors.ts";
import { forward, forwardBuffered } from "./proxy.ts";

const SNS_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/";

/**
 * What the edge adds in front of fauxqs for SNS: the PublishBatch aggregate size limit.
 * fauxqs checks each PublishBatch entry on its own (and the entry count, and Publish's own
 * size), but not AWS's limit on the batch as a whole, so a batch of ten 200 KB messages passed
 * locally and failed on AWS. Everything else goes to fauxqs unchanged.
 */
export function snsRoute(port: number) {
  return (req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> => {
    const refusal = publishBatchRefusal(body);
    if (refusal) {
      writeQueryError(res, refusal, SNS_XMLNS);
      return Promise.resolve();
    }
    return forward(port, req, body, res);
  };
}

/**
 * SQS goes to fauxqs unchanged, with its query-compatible error code corrected (below), except
 * what `intercept` answers itself (the DLQ redrive actions fauxqs lacks: src/sqs-move-tasks).
 */
export function sqsRoute(
  port: number,
  intercept?: (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<boolean>,
) {
  return async (req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> => {
    if (intercept && (await intercept(req, body, res))) return;
    if (req.headers["x-amz-target"] === "AmazonSQS.ReceiveMessage") return receive(port, req, body, res);
    return forward(port, req, body, res, sqsResponseHeaders);
  };
}

/**
 * ReceiveMessage, with one thing added: messages that fauxqs hands to a long poll whose caller
 * has hung up (a worker cutting its poll to stop promptly, a SIGKILLed process) are made visible
 * again at once, rather than staying invisible for a whole visibility timeout that no consumer
 * holds. (AWS documents no such courtesy: there, such a message is redelivered after its
 * visibility timeout — a delay, not a loss.) A caller that hangs up while the answer is already
 * on its way is not covered.
 */
async function receive(port: number, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
  let hungUp = false;
  const onClose = () => {
    if (!res.writableEnded) hungUp = true;
  };
  res.once("close", onClose);
  let answer: Awaited<ReturnType<typeof forwardBuffered>>;
  try {
    answer = await forwardBuffered(port, req, body);
  } catch (error) {
    res.off("close", onClose);
    if (!res.headersSent && !hungUp) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          __type: "ServiceUnavailable",
          message: `devcloud backend unreachable: ${(error as Error).message}`,
        }),
      );
    }
    return;
  }
  res.off("close", onClose);
  if (hungUp || res.destroyed) return releaseUnreceived(port, req, body, answer.body);
  const headers = { ...sqsResponseHeaders(answer.headers) };
  delete headers["transfer-encoding"];
  headers["content-length"] = String(answer.body.length);
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

/** Give back (visibility 0) the messages of a ReceiveMessage answer nobody read. */
async function releaseUnreceived(
  port: number,
  req: IncomingMessage,
  requestBody: Buffer,
  answer: Buffer,
): Promise<void> {
  try {
    const { Messages = [] } = JSON.parse(answer.toString("utf8")) as { Messages?: { ReceiptHandle?: string }[] };
    const handles = Messages.map((m) => m.ReceiptHandle).filter((h): h is string => typeof h === "string");
    if (!handles.length) return;
    const { QueueUrl } = JSON.parse(requestBody.toString("utf8")) as { QueueUrl?: string };
    const release = Buffer.from(
      JSON.stringify({
        QueueUrl,
        Entries: handles.map((ReceiptHandle, i) => ({ Id: String(i), ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
    await forwardBuffered(port, req, release, { "x-amz-target": "AmazonSQS.ChangeMessageVisibilityBatch" });
  } catch {
    // Not JSON, or fauxqs unreachable: the messages come back after their visibility timeout.
  }
}

const ENTRY_FIELD = /^PublishBatchRequestEntries\.member\.(\d+)\.(.+)$/;
const SIZED_FIELD =
  /^(?:Message|MessageAttributes\.entry\.\d+\.(?:Name|Value\.DataType|Value\.StringValue|Value\.BinaryValue))$/;

/**
 * SNS PublishBatch over AWS's aggregate limit → `BatchRequestTooLong` for the whole request.
 * Size as AWS counts it: each entry's message body plus every message attribute's name, data
 * type and value, in UTF-8 bytes (binary values as their decoded bytes). Batches with no entries
 * or more than SNS_MAX_BATCH_ENTRIES are left to fauxqs, which answers EmptyBatchRequest /
 * TooManyEntriesInBatchRequest as AWS does.
 */
export function publishBatchRefusal(body: Buffer): AwsServiceError | undefined {
  if (!body.includes("Action=PublishBatch")) return undefined; // skip parsing every Publish
  const form = new URLSearchParams(body.toString("utf8"));
  if (form.get("Action") !== "PublishBatch") return undefined;
  const entries = new Set<string>();
  let total = 0;
  for (const [key, value] of form) {
    const match = ENTRY_FIELD.exec(key);
    if (!match) continue;
    entries.add(match[1]!);
    if (SIZED_FIELD.test(match[2]!)) {
      total += match[2]!.endsWith("BinaryValue")
        ? Buffer.from(value, "base64").length
        : Buffer.byteLength(value, "utf8");
    }
  }
  if (entries.size === 0 || entries.size > SNS_MAX_BATCH_ENTRIES || total <= SNS_MAX_BATCH_BYTES) return undefined;
  return new AwsServiceError(
    "BatchRequestTooLong",
    `The length of all the batch messages put together is more than the limit (${total} > ${SNS_MAX_BATCH_BYTES} bytes).`,
  );
}

/**
 * SQS speaks JSON, but SDK v3 names an error by its legacy query code from the
 * `x-amzn-query-error: <code>;<Sender|Receiver>` header. AWS prefixes that code with
 * "AWS.SimpleQueueService." only for the errors below (the `awsQueryError` codes of the SQS
 * service model); its common errors carry the bare code (a 1 MiB+ SendMessage answers
 * `InvalidParameterValue;Sender`, so the SDK's error name is "InvalidParameterValue"). fauxqs
 * 2.4.1 prefixes every code, which made local error names differ from AWS's
 * ("AWS.SimpleQueueService.InvalidParameterValue"), and names QueueNameExists by its shape
 * where AWS sends "QueueAlreadyExists". The body's `__type` is left as fauxqs wrote it: in
 * query-compatible mode the SDK takes the header's code first.
 */
const AWS_PREFIXED_SQS_CODES = new Set(
  [
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidBatchEntryId",
    "MessageNotInflight",
    "NonExistentQueue",
    "PurgeQueueInProgress",
    "QueueDeletedRecently",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
  ].map((code) => `AWS.SimpleQueueService.${code}`),
);
const SQS_QUERY_CODE_RENAMES: Record<string, string> = { QueueNameExists: "QueueAlreadyExists" };

export function sqsResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const header = headers["x-amzn-query-error"];
  if (typeof header !== "string") return headers;
  const [code = "", fault = "Sender"] = header.split(";");
  if (AWS_PREFIXED_SQS_CODES.has(code)) return headers;
  const bare = code.replace(/^AWS\.SimpleQueueService\./, "");
  return { ...headers, "x-amzn-query-error": `${SQS_QUERY_CODE_RENAMES[bare] ?? bare};${fault}` };
}
