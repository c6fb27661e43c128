import type { IncomingMessage } from "node:http";

const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;
const QUERY_CREDENTIAL_SCOPE = /^[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request$/;

/** Services whose JSON protocol names them in X-Amz-Target, for requests that arrive unsigned. */
const TARGET_PREFIXES: [prefix: string, service: string][] = [
  ["AmazonSQS.", "sqs"],
  ["DynamoDB_", "dynamodb"],
  ["DynamoDBStreams_", "dynamodb"],
  ["AWSEvents.", "events"],
];

export interface SigningScope {
  service: string;
  region: string | undefined;
}

/**
 * Which AWS service a request is for, read the way AWS itself scopes a signature: the SigV4
 * credential scope `…/<date>/<region>/<service>/aws4_request` in the Authorization header or,
 * for presigned URLs, in the X-Amz-Credential query parameter. Unsigned requests fall back to
 * protocol markers (X-Amz-Target, the Bedrock runtime, batch and SESv2 REST paths, SNS's form `Action=`): the
 * edge refuses them, in the protocol those markers name (src/edge/authentication.ts).
 */
export function signingScopeOf(req: IncomingMessage, body: Buffer): SigningScope | undefined {
  const authorization = req.headers.authorization;
  const fromHeader = authorization ? CREDENTIAL_SCOPE.exec(authorization) : null;
  if (fromHeader) return { region: fromHeader[1], service: fromHeader[2]! };

  const url = new URL(req.url ?? "/", "http://edge");
  const queryCredential = url.searchParams.get("X-Amz-Credential");
  const fromQuery = queryCredential ? QUERY_CREDENTIAL_SCOPE.exec(queryCredential) : null;
  if (fromQuery) return { region: fromQuery[1], service: fromQuery[2]! };
  // S3's SigV2 presigned URLs carry no scope; no other service signs that way.
  if (url.searchParams.has("AWSAccessKeyId") && url.searchParams.has("Signature")) {
    return { service: "s3", region: undefined };
  }

  const target = req.headers["x-amz-target"];
  if (typeof target === "string") {
    const match = TARGET_PREFIXES.find(([prefix]) => target.startsWith(prefix));
    if (match) return { service: match[1], region: undefined };
  }
  if (url.pathname.startsWith("/model/") || url.pathname.startsWith("/model-invocation-job"))
    return { service: "bedrock", region: undefined };
  if (url.pathname.startsWith("/v2/email/")) return { service: "ses", region: undefined };
  if (
    req.method === "POST" &&
    String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded") &&
    /(^|&)Action=/.test(body.toString("latin1", 0, Math.min(body.length, 4096)))
  ) {
    return { service: "sns", region: undefined };
  }
  return undefined;
}
