/**
 * The API operation a request calls, named as the SDK names its command without "Command"
 * (SendMessage, PutItem, PutObject, Converse…), read from the wire the way AWS routes it.
 */
import type { IncomingMessage } from "node:http";
import type { FaultService } from "./wire.ts";

export function operationOf(service: FaultService, req: IncomingMessage, body: Buffer): string | undefined {
  switch (service) {
    case "sqs":
    case "dynamodb":
    case "events":
      // JSON protocols: X-Amz-Target is "<service prefix>.<Operation>" (AmazonSQS.SendMessage,
      // DynamoDB_20120810.PutItem, AWSEvents.PutEvents); a query-protocol SQS call has Action=.
      return targetOperation(req) ?? formAction(body);
    case "sns":
      return formAction(body);
    case "s3":
      return s3Operation(req);
    case "ses":
      return sesOperation(req);
    case "bedrock":
      return bedrockOperation(req);
  }
}

function targetOperation(req: IncomingMessage): string | undefined {
  const target = req.headers["x-amz-target"];
  if (typeof target !== "string") return undefined;
  const dot = target.lastIndexOf(".");
  return dot >= 0 ? target.slice(dot + 1) : undefined;
}

const ACTION = /(?:^|&)Action=([A-Za-z0-9]+)/;

function formAction(body: Buffer): string | undefined {
  return ACTION.exec(body.toString("latin1"))?.[1];
}

/** Bucket subresources (`?tagging`, `?policy`…) → the name part of Get/Put/DeleteBucket<Name>. */
const BUCKET_SUBRESOURCES: Readonly<Record<string, string>> = {
  accelerate: "AccelerateConfiguration",
  acl: "Acl",
  cors: "Cors",
  encryption: "Encryption",
  lifecycle: "LifecycleConfiguration",
  location: "Location",
  logging: "Logging",
  notification: "NotificationConfiguration",
  ownershipControls: "OwnershipControls",
  policy: "Policy",
  publicAccessBlock: "PublicAccessBlock",
  replication: "Replication",
  requestPayment: "RequestPayment",
  tagging: "Tagging",
  versioning: "Versioning",
  website: "Website",
};

/**
 * S3 REST, path-style (`/<bucket>/<key>`, the only style devcloud serves): the operation from
 * method, path depth, subresource query parameters and the copy-source header.
 */
export function s3Operation(req: IncomingMessage): string | undefined {
  const url = new URL(req.url ?? "/", "http://edge");
  const query = url.searchParams;
  const [bucket, ...keyParts] = url.pathname.replace(/^\//, "").split("/");
  const key = keyParts.join("/");
  const method = req.method ?? "GET";
  const copy = req.headers["x-amz-copy-source"] !== undefined;
  if (!bucket) return method === "GET" ? "ListBuckets" : undefined;
  if (!key) {
    if (method === "POST" && query.has("delete")) return "DeleteObjects";
    if (method === "GET" && query.get("list-type") === "2") return "ListObjectsV2";
    if (method === "GET" && query.has("uploads")) return "ListMultipartUploads";
    if (method === "GET" && query.has("versions")) return "ListObjectVersions";
    const subresource = Object.keys(BUCKET_SUBRESOURCES).find((name) => query.has(name));
    const verb = { GET: "Get", PUT: "Put", DELETE: "Delete" }[method];
    if (subresource && verb) return `${verb}Bucket${BUCKET_SUBRESOURCES[subresource]}`;
    return { GET: "ListObjects", PUT: "CreateBucket", HEAD: "HeadBucket", DELETE: "DeleteBucket" }[method];
  }
  switch (method) {
    case "GET":
      if (query.has("uploadId")) return "ListParts";
      if (query.has("tagging")) return "GetObjectTagging";
      if (query.has("acl")) return "GetObjectAcl";
      if (query.has("attributes")) return "GetObjectAttributes";
      return "GetObject";
    case "HEAD":
      return "HeadObject";
    case "PUT":
      if (query.has("partNumber") && query.has("uploadId")) return copy ? "UploadPartCopy" : "UploadPart";
      if (query.has("tagging")) return "PutObjectTagging";
      if (query.has("acl")) return "PutObjectAcl";
      return copy ? "CopyObject" : "PutObject";
    case "DELETE":
      if (query.has("uploadId")) return "AbortMultipartUpload";
      if (query.has("tagging")) return "DeleteObjectTagging";
      return "DeleteObject";
    case "POST":
      if (query.has("uploads")) return "CreateMultipartUpload";
      if (query.has("uploadId")) return "CompleteMultipartUpload";
      if (query.has("restore")) return "RestoreObject";
      return undefined;
    default:
      return undefined;
  }
}

/** SESv2 REST-JSON routes Quire and its tools use; anything else has no name here. */
function sesOperation(req: IncomingMessage): string | undefined {
  const path = new URL(req.url ?? "/", "http://edge").pathname.replace(/\/$/, "");
  const method = req.method ?? "GET";
  if (path === "/v2/email/outbound-emails" && method === "POST") return "SendEmail";
  if (path === "/v2/email/outbound-bulk-emails" && method === "POST") return "SendBulkEmail";
  if (path === "/v2/email/account" && method === "GET") return "GetAccount";
  if (path === "/v2/email/identities")
    return method === "POST" ? "CreateEmailIdentity" : method === "GET" ? "ListEmailIdentities" : undefined;
  if (path.startsWith("/v2/email/identities/"))
    return { GET: "GetEmailIdentity", DELETE: "DeleteEmailIdentity" }[method];
  return undefined;
}

const BEDROCK_OPERATIONS: Readonly<Record<string, string>> = {
  converse: "Converse",
  "converse-stream": "ConverseStream",
  invoke: "InvokeModel",
  "invoke-with-response-stream": "InvokeModelWithResponseStream",
  "invoke-with-bidirectional-stream": "InvokeModelWithBidirectionalStream",
  "count-tokens": "CountTokens",
};

function bedrockOperation(req: IncomingMessage): string | undefined {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const match = /^\/model\/[^/]+\/([a-z-]+)\/?$/.exec(path);
  if (match) return BEDROCK_OPERATIONS[match[1]!];
  if (/^\/async-invoke\/?$/.test(path)) return req.method === "POST" ? "StartAsyncInvoke" : "ListAsyncInvokes";
  if (/^\/guardrail\/[^/]+\/version\/[^/]+\/apply\/?$/.test(path)) return "ApplyGuardrail";
  return undefined;
}
