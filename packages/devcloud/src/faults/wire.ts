/**
 * What an injected fault looks like on the wire, per service and protocol, so the real AWS SDK v3
 * clients parse it into the same exception as AWS's own answer and their retry strategy treats it
 * as it would in production.
 *
 * Sources (read from the installed clients, @aws-sdk/client-* 3.1164–3.1173, their generated
 * schemas in dist-cjs/index.js: `[_aQE]` = awsQueryError code + status, `[_hE]` = httpError):
 * - SQS (awsJson1_0, @awsQueryCompatible): the SDK names the error by the legacy query code in
 *   `x-amzn-query-error: <code>;<Sender|Receiver>`. `RequestThrottled` is modeled with
 *   awsQueryError ["RequestThrottled", 403] and httpError 403 (the API reference prose says 400;
 *   the model is what the SDK was generated from, so 403 is the default here; `code:
 *   "ThrottlingException"` gives the 400 common error instead). 5xx errors are not modeled: SQS's
 *   documented `InternalError` 500 and `ServiceUnavailable` 503 come back as SQSServiceException
 *   named by the header.
 * - SNS (awsQuery, XML): InternalErrorException = ["InternalError", 500]; ThrottledException =
 *   ["Throttled", 429] (the model's status, not 400). `ServiceUnavailable` 503 is unmodeled.
 * - DynamoDB (awsJson1_0): `__type` carries the shape id, `com.amazonaws.dynamodb.v20120810#…`.
 *   InternalServerError (server fault, 500); ProvisionedThroughputExceededException,
 *   RequestLimitExceeded and ThrottlingException (awsQueryError ["Throttling", 400]) are client
 *   faults, 400. AWS sends ThrottlingException under `com.amazon.coral.availability#`.
 * - EventBridge (awsJson1_1): `__type` is the bare shape name. InternalException (server, 500),
 *   ThrottlingException (client, no httpError → 400).
 * - S3 (restXml): `<Error><Code>` with `InternalError` 500, `SlowDown` 503 (S3's throttling
 *   answer) and `ServiceUnavailable` 503; none is modeled, the SDK names the S3ServiceException by
 *   the code. HEAD answers carry no body (the SDK then names the error by status).
 * - SESv2 (restJson1): `x-amzn-errortype`; InternalServiceErrorException httpError 500,
 *   TooManyRequestsException httpError 429.
 * - Bedrock runtime (restJson1): InternalServerException 500, ServiceUnavailableException 503,
 *   ThrottlingException 429 (see also bedrock/wire.ts).
 *
 * Retry classification (@smithy/core/retry's service-error-classification, which the clients'
 * retry strategy uses): a throttling error is any 429 or a name in THROTTLING_ERROR_CODES —
 * RequestThrottled, ThrottledException (what the SDK names SNS's "Throttled"), ThrottlingException,
 * ProvisionedThroughputExceededException, RequestLimitExceeded, SlowDown, TooManyRequestsException;
 * a transient error is a status in TRANSIENT_ERROR_STATUS_CODES (500, 502, 503, 504) or a network
 * error code (ECONNRESET, EPIPE, ETIMEDOUT…). Every code below is one or the other.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export const FAULT_SERVICES = ["sqs", "sns", "dynamodb", "events", "s3", "ses", "bedrock"] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

/** The kinds of error answer a rule can inject (ConnectionReset and Latency are not answers). */
export const ERROR_ANSWERS = ["InternalError", "ServiceUnavailable", "Throttling"] as const;
export type ErrorAnswer = (typeof ERROR_ANSWERS)[number];

export interface WireError {
  /** The code on the wire; the SDK's exception `name`. */
  readonly code: string;
  readonly status: number;
  readonly message: string;
  /** JSON-RPC `__type` namespace, where the service sends one. */
  readonly namespace?: string;
}

const DYNAMODB_NS = "com.amazonaws.dynamodb.v20120810";
const SQS_NS = "com.amazonaws.sqs";

/** Per service and kind, the codes a rule may ask for; the first is the default. */
export const WIRE_ERRORS: Readonly<Record<FaultService, Readonly<Record<ErrorAnswer, readonly WireError[]>>>> = {
  sqs: {
    InternalError: [
      {
        code: "InternalError",
        status: 500,
        message: "We encountered an internal error. Please try again.",
        namespace: SQS_NS,
      },
      {
        code: "InternalFailure",
        status: 500,
        message: "The request processing has failed because of an unknown error, exception or failure.",
        namespace: SQS_NS,
      },
    ],
    ServiceUnavailable: [
      {
        code: "ServiceUnavailable",
        status: 503,
        message: "The request has failed due to a temporary failure of the server.",
        namespace: SQS_NS,
      },
    ],
    Throttling: [
      { code: "RequestThrottled", status: 403, message: "Request is throttled.", namespace: SQS_NS },
      { code: "ThrottlingException", status: 400, message: "Rate exceeded", namespace: SQS_NS },
    ],
  },
  sns: {
    InternalError: [{ code: "InternalError", status: 500, message: "Internal Error" }],
    ServiceUnavailable: [
      {
        code: "ServiceUnavailable",
        status: 503,
        message: "The request has failed due to a temporary failure of the server.",
      },
    ],
    Throttling: [
      { code: "Throttled", status: 429, message: "Rate exceeded" },
      { code: "ThrottlingException", status: 400, message: "Rate exceeded" },
    ],
  },
  dynamodb: {
    InternalError: [
      { code: "InternalServerError", status: 500, message: "Internal server error", namespace: DYNAMODB_NS },
    ],
    ServiceUnavailable: [
      {
        code: "ServiceUnavailable",
        status: 503,
        message: "The service is currently unavailable or busy.",
        namespace: DYNAMODB_NS,
      },
    ],
    Throttling: [
      {
        code: "ProvisionedThroughputExceededException",
        status: 400,
        message:
          "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        namespace: DYNAMODB_NS,
      },
      {
        code: "ThrottlingException",
        status: 400,
        message: "Rate of requests exceeds the allowed throughput.",
        namespace: "com.amazon.coral.availability",
      },
      {
        code: "RequestLimitExceeded",
        status: 400,
        message:
          "Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
        namespace: DYNAMODB_NS,
      },
    ],
  },
  events: {
    InternalError: [{ code: "InternalException", status: 500, message: "Internal service error." }],
    ServiceUnavailable: [
      {
        code: "ServiceUnavailable",
        status: 503,
        message: "The request has failed due to a temporary failure of the server.",
      },
    ],
    Throttling: [{ code: "ThrottlingException", status: 400, message: "Rate exceeded" }],
  },
  s3: {
    InternalError: [
      { code: "InternalError", status: 500, message: "We encountered an internal error. Please try again." },
    ],
    ServiceUnavailable: [{ code: "ServiceUnavailable", status: 503, message: "Service is unable to handle request." }],
    Throttling: [{ code: "SlowDown", status: 503, message: "Please reduce your request rate." }],
  },
  ses: {
    InternalError: [
      {
        code: "InternalServiceErrorException",
        status: 500,
        message: "The request couldn't be processed because an error occurred with the Amazon SES API v2.",
      },
    ],
    ServiceUnavailable: [
      {
        code: "ServiceUnavailable",
        status: 503,
        message: "The request has failed due to a temporary failure of the server.",
      },
    ],
    Throttling: [
      { code: "TooManyRequestsException", status: 429, message: "Too many requests have been made to the operation." },
    ],
  },
  bedrock: {
    InternalError: [
      {
        code: "InternalServerException",
        status: 500,
        message: "The server encountered an internal error while processing the request.",
      },
    ],
    ServiceUnavailable: [
      { code: "ServiceUnavailableException", status: 503, message: "Bedrock is unable to process your request." },
    ],
    Throttling: [
      { code: "ThrottlingException", status: 429, message: "Too many requests, please wait before trying again." },
    ],
  },
};

export function wireErrorFor(service: FaultService, kind: ErrorAnswer, code?: string): WireError {
  const choices = WIRE_ERRORS[service][kind];
  return (code === undefined ? choices[0] : choices.find((choice) => choice.code === code)) ?? choices[0]!;
}

/** Marks an injected answer for whoever reads raw responses; the SDK ignores unknown headers. */
const FAULT_HEADER = "x-quire-fault";

/** Answer `req` with `error` exactly as `service` would on the wire. */
export function writeWireError(
  service: FaultService,
  error: WireError,
  req: IncomingMessage,
  res: ServerResponse,
  ruleId: string,
): void {
  const requestId = crypto.randomUUID();
  const fault = error.status >= 500 ? "Receiver" : "Sender";
  const headers: Record<string, string> = { [FAULT_HEADER]: ruleId };
  let body = "";
  switch (service) {
    case "sqs":
      headers["content-type"] = "application/x-amz-json-1.0";
      headers["x-amzn-requestid"] = requestId;
      headers["x-amzn-query-error"] = `${error.code};${fault}`;
      body = JSON.stringify({ __type: `${error.namespace}#${error.code}`, message: error.message });
      break;
    case "dynamodb":
      headers["content-type"] = "application/x-amz-json-1.0";
      headers["x-amzn-requestid"] = requestId;
      body = JSON.stringify({ __type: `${error.namespace}#${error.code}`, message: error.message });
      break;
    case "events":
      headers["content-type"] = "application/x-amz-json-1.1";
      headers["x-amzn-requestid"] = requestId;
      body = JSON.stringify({ __type: error.code, message: error.message });
      break;
    case "ses":
    case "bedrock":
      headers["content-type"] = "application/json";
      headers["x-amzn-requestid"] = requestId;
      headers["x-amzn-errortype"] = error.code;
      body = JSON.stringify({ message: error.message });
      break;
    case "sns":
      headers["content-type"] = "text/xml";
      headers["x-amzn-requestid"] = requestId;
      body =
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${fault}</Type><Code>${error.code}</Code>` +
        `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
      break;
    case "s3": {
      const hostId = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64");
      headers["content-type"] = "application/xml";
      headers["x-amz-request-id"] = requestId.replaceAll("-", "").slice(0, 16).toUpperCase();
      headers["x-amz-id-2"] = hostId;
      // S3 answers HEAD with the status alone; the SDK then names the error by status.
      if (req.method !== "HEAD") {
        body =
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message>` +
          `<RequestId>${headers["x-amz-request-id"]}</RequestId><HostId>${hostId}</HostId></Error>`;
      }
      break;
    }
  }
  headers["content-length"] = String(Buffer.byteLength(body));
  res.writeHead(error.status, headers);
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}
