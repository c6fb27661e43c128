import type { ServerResponse } from "node:http";

/**
 * An error the emulated service answers with. `type` is the AWS error code the SDK turns into
 * the exception's `name` (ThrottlingException, ValidationException, ResourceNotFoundException...).
 */
export class AwsServiceError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

/**
 * AWS JSON and REST-JSON protocols: the SDKs read the code from the `x-amzn-errortype` header
 * or the body's `__type`, the text from `message`. Both are sent so every client finds them.
 */
export function writeJsonError(res: ServerResponse, error: AwsServiceError, contentType = "application/json"): void {
  const body = JSON.stringify({ __type: error.type, message: error.message });
  res.writeHead(error.status, {
    "content-type": contentType,
    "x-amzn-errortype": error.type,
    "x-amzn-requestid": crypto.randomUUID(),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * AWS query protocol (SNS): an XML ErrorResponse; the SDK reads Error/Code and maps it to the
 * modeled exception through the shape's awsQueryError code (BatchRequestTooLong →
 * BatchRequestTooLongException).
 */
export function writeQueryError(
  res: ServerResponse,
  error: AwsServiceError,
  xmlns: string,
  fault: "Sender" | "Receiver" = "Sender",
): void {
  const body =
    `<ErrorResponse xmlns="${xmlns}"><Error><Type>${fault}</Type><Code>${escapeXml(error.type)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`;
  res.writeHead(error.status, {
    "content-type": "text/xml",
    "x-amzn-requestid": crypto.randomUUID(),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * S3's REST-XML error: `<Error><Code>…</Code><Message>…</Message>…</Error>`, with the extra
 * elements S3 adds for some codes (Expires and ServerTime for an expired presigned URL,
 * StringToSign and CanonicalRequest for a signature mismatch).
 */
export function writeS3Error(res: ServerResponse, error: AwsServiceError, details: Record<string, string> = {}): void {
  const requestId = crypto.randomUUID();
  const extra = Object.entries(details)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join("");
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.type)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(error.status, {
    "content-type": "application/xml",
    "x-amz-request-id": requestId,
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

export function writeJson(res: ServerResponse, status: number, value: unknown, contentType = "application/json"): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": contentType,
    "x-amzn-requestid": crypto.randomUUID(),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Parse a request body as a JSON object or answer the protocol's serialization error. */
export function parseJsonObject(body: Buffer, errorType = "SerializationException"): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new AwsServiceError(errorType, "The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new AwsServiceError(errorType, "The request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}
