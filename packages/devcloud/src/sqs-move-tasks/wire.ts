import type { ServerResponse } from "node:http";
import { AwsServiceError } from "../edge/aws-errors.ts";

/**
 * An SQS error as AWS answers it on SQS's JSON protocol: `__type` in the body and, because SQS
 * is query-compatible, the legacy code in `x-amzn-query-error: <code>;<Sender|Receiver>`, which
 * is what SDK v3 names the exception by. `queryCode` is that legacy code where it differs from
 * the shape name (QueueDoesNotExist is "AWS.SimpleQueueService.NonExistentQueue").
 */
export class SqsApiError extends AwsServiceError {
  readonly queryCode: string;
  readonly fault: "Sender" | "Receiver";
  constructor(
    type: string,
    message: string,
    options: { status?: number; queryCode?: string; fault?: "Sender" | "Receiver" } = {},
  ) {
    super(type, message, options.status ?? 400);
    this.queryCode = options.queryCode ?? type;
    this.fault = options.fault ?? "Sender";
  }
}

export const invalidParameterValue = (message: string) => new SqsApiError("InvalidParameterValue", message);
export const missingParameter = (name: string) =>
  new SqsApiError("MissingParameter", `The request must contain the parameter ${name}.`);
/** AWS answers ResourceNotFoundException with HTTP 404 (its awsQueryError in the SQS model). */
export const resourceNotFound = (message: string) =>
  new SqsApiError("ResourceNotFoundException", message, { status: 404 });
export const queueDoesNotExist = () =>
  new SqsApiError("QueueDoesNotExist", "The specified queue does not exist.", {
    queryCode: "AWS.SimpleQueueService.NonExistentQueue",
  });

const JSON_1_0 = "application/x-amz-json-1.0";

export function writeSqsError(res: ServerResponse, error: SqsApiError): void {
  const body = JSON.stringify({ __type: `com.amazonaws.sqs#${error.type}`, message: error.message });
  res.writeHead(error.status, {
    "content-type": JSON_1_0,
    "x-amzn-query-error": `${error.queryCode};${error.fault}`,
    "x-amzn-requestid": crypto.randomUUID(),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

export function writeSqsResult(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    "content-type": JSON_1_0,
    "x-amzn-requestid": crypto.randomUUID(),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** `arn:<partition>:sqs:<region>:<account>:<name>`, split; undefined when it is no ARN at all. */
export interface QueueArn {
  arn: string;
  service: string;
  region: string;
  account: string;
  name: string;
}

export function parseArn(value: string): QueueArn | undefined {
  const match = /^arn:[^:]+:([^:]*):([^:]*):([^:]*):(.+)$/.exec(value);
  if (!match) return undefined;
  return { arn: value, service: match[1]!, region: match[2]!, account: match[3]!, name: match[4]! };
}

/** A request member that must be a string, if present (the SDK always sends strings). */
export function stringMember(input: Record<string, unknown>, name: string, required: true): string;
export function stringMember(input: Record<string, unknown>, name: string, required?: false): string | undefined;
export function stringMember(input: Record<string, unknown>, name: string, required = false): string | undefined {
  const value = input[name];
  if (value === undefined || value === null || value === "") {
    if (required) throw missingParameter(name);
    return undefined;
  }
  if (typeof value !== "string")
    throw invalidParameterValue(`Value ${JSON.stringify(value)} for parameter ${name} is invalid.`);
  return value;
}

/** An optional integer member within [min, max]; `reason` is AWS's wording for the range. */
export function integerMember(
  input: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  reason: string,
): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameterValue(`Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: ${reason}`);
  }
  return value;
}
