import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsServiceError, writeJsonError, writeQueryError, writeS3Error } from "./aws-errors.ts";
import { signingScopeOf } from "./signing-service.ts";

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * The credentials devcloud publishes (Devcloud.clientConfig, AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY in Devcloud.env and `npm start`'s services). They are not a secret:
 * anyone who can reach devcloud can read them in the README. Presigned URLs are checked against
 * them (below); header-signed requests may use any credentials.
 */
export const DEVCLOUD_CREDENTIALS: LocalCredentials = { accessKeyId: "devcloud", secretAccessKey: "devcloud" };

/** AWS's longest presigned-URL lifetime: seven days. */
export const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;
/** How far in the future a presigned URL's X-Amz-Date may be (clock skew), as AWS allows. */
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

const HEADER_SIGNATURE =
  /^AWS4-HMAC-SHA256 Credential=[^/,\s]+\/\d{8}\/[^/]+\/[^/]+\/aws4_request\s*,.*\bSignature=[^,\s]+/;
const PRESIGN_PARAMETERS = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"];
/** S3's older query-string authentication (SigV2), which `aws s3 presign` still writes in us-east-1. */
const PRESIGN_V2_PARAMETERS = ["AWSAccessKeyId", "Signature"];

/** A request the edge will not serve, and the wire protocol to say so in. */
export interface Refusal {
  error: AwsServiceError;
  /** Extra elements S3 adds to its <Error> (Expires, ServerTime, StringToSign...). */
  details?: Record<string, string>;
  /** The service whose protocol answers, when the request's markers do not say (presigned URLs). */
  service?: string;
}

export interface AuthenticationOptions {
  /** Access key id → secret, for checking presigned URLs (default: devcloud's own pair). */
  credentials?: readonly LocalCredentials[];
  now?: () => number;
}

/**
 * Every request to an emulated service must carry a SigV4 signature: an `Authorization:
 * AWS4-HMAC-SHA256 …` header or presigned-URL query parameters. AWS answers requests with
 * neither `MissingAuthenticationToken` (403); so does the edge. A web page cannot send an
 * Authorization header to devcloud (a cross-origin request with one needs a CORS preflight, which
 * the edge refuses with every other cross-origin request), and SigV4 needs code, not a form.
 *
 * Header signatures are not verified. devcloud accepts whatever credentials a client has
 * (`AWS_ACCESS_KEY_ID=test`, the developer's real profile pointed at --endpoint-url…), so it does
 * not know the secret most requests were signed with; and verifying them against the published
 * pair would check a secret printed in the README, while re-deriving every client's canonical
 * request (aws-chunked uploads, HTTP/2, path encoding per service) for no protection.
 *
 * Presigned URLs are verified. A presigned URL is the authorization itself, handed to someone
 * else, and code under test relies on AWS refusing one that has expired or was altered. The edge
 * checks the parameters as S3 does (AuthorizationQueryParametersError: missing or malformed,
 * X-Amz-Expires over 604800 s), the access key (InvalidAccessKeyId unless it is devcloud's), the
 * signature with devcloud's secret (SignatureDoesNotMatch) and the expiry (AccessDenied,
 * "Request has expired"). So presign with devcloud's credentials — the SDK clients built from
 * Devcloud.clientConfig or Devcloud.env do. S3's SigV2 presigned URLs (AWSAccessKeyId,
 * Signature, Expires: what `aws s3 presign` writes in us-east-1) are checked the same way.
 */
export function createAuthenticationCheck(
  options: AuthenticationOptions = {},
): (req: IncomingMessage, body: Buffer) => Refusal | undefined {
  const secrets = new Map(
    (options.credentials ?? [DEVCLOUD_CREDENTIALS]).map((c) => [c.accessKeyId, c.secretAccessKey] as const),
  );
  const now = options.now ?? Date.now;
  return (req, body) => {
    const query = parseQuery(req.url ?? "/");
    const has = (name: string) => query.some(([key]) => key === name);
    const presignedV2 = PRESIGN_V2_PARAMETERS.every(has) && !PRESIGN_PARAMETERS.some(has);
    const presigned = presignedV2 || PRESIGN_PARAMETERS.some(has);
    const authorization = req.headers.authorization;
    if (authorization === undefined && !presigned) {
      return { error: new AwsServiceError("MissingAuthenticationToken", "Missing Authentication Token", 403) };
    }
    if (authorization !== undefined && presigned) {
      return {
        error: new AwsServiceError(
          "InvalidArgument",
          "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        ),
      };
    }
    if (authorization !== undefined) {
      if (HEADER_SIGNATURE.test(authorization)) return undefined;
      return {
        error: new AwsServiceError(
          "IncompleteSignature",
          `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256; devcloud accepts SigV4 only). Authorization=${authorization.split(" ")[0]}`,
          403,
        ),
      };
    }
    // Presigned URLs are S3's, in practice: its XML answers those whose credential does not say.
    const refusal = presignedV2
      ? verifyPresignedV2(req, query, secrets, now())
      : verifyPresigned(req, body, query, secrets, now());
    return refusal && { service: "s3", ...refusal };
  };
}

/** Answer a refusal in the protocol of the service the request is for: S3's XML, query XML, or JSON. */
export function writeRefusal(req: IncomingMessage, body: Buffer, res: ServerResponse, refusal: Refusal): void {
  const service = signingScopeOf(req, body)?.service ?? refusal.service;
  const error = refusal.error;
  if (service === "s3") {
    writeS3Error(res, error, refusal.details);
  } else if (service === "sns" || service === "sts") {
    writeQueryError(res, error, "http://sns.amazonaws.com/doc/2010-03-31/");
  } else {
    // The JSON protocols name modeled exceptions with the suffix (MissingAuthenticationTokenException).
    const type = error.type.endsWith("Exception") ? error.type : `${error.type}Exception`;
    writeJsonError(res, new AwsServiceError(type, error.message, error.status));
  }
}

const queryParametersError = (message: string): Refusal => ({
  error: new AwsServiceError("AuthorizationQueryParametersError", message),
});

function verifyPresigned(
  req: IncomingMessage,
  body: Buffer,
  query: [string, string][],
  secrets: ReadonlyMap<string, string>,
  now: number,
): Refusal | undefined {
  const param = (name: string) => query.find(([key]) => key === name)?.[1];
  const algorithm = param("X-Amz-Algorithm");
  const credential = param("X-Amz-Credential");
  const signature = param("X-Amz-Signature");
  const amzDate = param("X-Amz-Date");
  const signedHeaders = param("X-Amz-SignedHeaders");
  const expiresText = param("X-Amz-Expires");
  if ([algorithm, credential, signature, amzDate, signedHeaders, expiresText].includes(undefined)) {
    return queryParametersError(
      "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    );
  }
  if (algorithm !== "AWS4-HMAC-SHA256") {
    return queryParametersError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  const scope = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(credential!);
  if (!scope) {
    return queryParametersError(
      'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
  }
  const [, accessKeyId, day, region, service] = scope as unknown as [string, string, string, string, string];
  const dated = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate!);
  const signedAt = dated ? Date.UTC(+dated[1]!, +dated[2]! - 1, +dated[3]!, +dated[4]!, +dated[5]!, +dated[6]!) : NaN;
  if (!dated || Number.isNaN(signedAt)) {
    return queryParametersError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  if (amzDate!.slice(0, 8) !== day) {
    return queryParametersError(
      `Invalid credential date "${day}". This date is not the same as X-Amz-Date: "${amzDate!.slice(0, 8)}".`,
    );
  }
  if (!/^\d+$/.test(expiresText!)) {
    return queryParametersError(
      expiresText!.startsWith("-") ? "X-Amz-Expires must be non-negative" : "X-Amz-Expires should be a number",
    );
  }
  const expires = Number(expiresText);
  if (expires > MAX_PRESIGNED_EXPIRES_SECONDS) {
    return queryParametersError(
      `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES_SECONDS}`,
    );
  }

  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return unknownAccessKey(accessKeyId, secrets);

  const canonicalRequest = canonicalRequestOf(req, body, query, signedHeaders!, service);
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    amzDate!,
    `${day}/${region}/${service}/aws4_request`,
    sha256Hex(canonicalRequest),
  ].join("\n");
  let key: Buffer = hmac(`AWS4${secret}`, day);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  const expected = createHmac("sha256", key).update(stringToSign).digest();
  const provided = /^[0-9a-f]{64}$/.test(signature!) ? Buffer.from(signature!, "hex") : Buffer.alloc(0);
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    return {
      error: new AwsServiceError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        403,
      ),
      details: {
        AWSAccessKeyId: accessKeyId,
        StringToSign: stringToSign,
        SignatureProvided: signature!,
        CanonicalRequest: canonicalRequest,
      },
    };
  }

  if (signedAt - now > MAX_CLOCK_SKEW_MS) {
    return { error: new AwsServiceError("AccessDenied", "Request is not valid yet", 403) };
  }
  const expiresAt = signedAt + expires * 1000;
  if (now > expiresAt) {
    return {
      error: new AwsServiceError("AccessDenied", "Request has expired", 403),
      details: {
        "X-Amz-Expires": String(expires),
        Expires: isoSeconds(expiresAt),
        ServerTime: isoSeconds(now),
      },
    };
  }
  return undefined;
}

/** Headers S3's SigV2 signs, which a presigned URL may carry in its query instead. */
const V2_STANDARD_HEADERS = ["content-md5", "content-type"];
/** The subresources SigV2's canonical resource keeps (botocore's HmacV1Auth.QSAOfInterest). */
const V2_SUBRESOURCES = new Set(
  (
    "accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment torrent versioning " +
    "versionId versions website uploads uploadId response-content-type response-content-language response-expires " +
    "response-cache-control response-content-disposition response-content-encoding delete lifecycle tagging " +
    "restore storageClass notification replication analytics metrics inventory select select-type object-lock"
  ).split(" "),
);

/**
 * S3's SigV2 query-string authentication: Base64(HMAC-SHA1(secret, VERB \n Content-MD5 \n
 * Content-Type \n Expires \n x-amz-* headers, sorted \n /bucket/key?subresources)).
 */
function verifyPresignedV2(
  req: IncomingMessage,
  query: [string, string][],
  secrets: ReadonlyMap<string, string>,
  now: number,
): Refusal | undefined {
  const param = (name: string) => query.find(([key]) => key === name)?.[1];
  const accessKeyId = param("AWSAccessKeyId")!;
  const signature = param("Signature")!;
  const expiresText = param("Expires");
  if (expiresText === undefined || !/^\d+$/.test(expiresText)) {
    return {
      error: new AwsServiceError(
        "AccessDenied",
        "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        403,
      ),
    };
  }
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return unknownAccessKey(accessKeyId, secrets);

  const headerOrParam = (name: string) => param(name) ?? headerValue(req, name);
  const amzHeaders = new Map<string, string>();
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith("x-amz-")) amzHeaders.set(name, headerValue(req, name));
  }
  for (const [key, value] of query)
    if (key.toLowerCase().startsWith("x-amz-")) amzHeaders.set(key.toLowerCase(), value);
  const [rawPath = "/", rawQuery = ""] = (req.url ?? "/").split("?");
  const subresources = rawQuery
    .split("&")
    .map((pair) => pair.split("=", 2) as [string, string?])
    .filter(([key]) => V2_SUBRESOURCES.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => (value === undefined ? key : `${key}=${decode(value)}`));
  const stringToSign = [
    req.method ?? "GET",
    ...V2_STANDARD_HEADERS.map(headerOrParam),
    expiresText,
    ...[...amzHeaders.keys()].sort().map((name) => `${name}:${amzHeaders.get(name)}`),
    `${virtualHostedBucket(req)}${rawPath}${subresources.length ? `?${subresources.join("&")}` : ""}`,
  ].join("\n");
  const expected = createHmac("sha1", secret).update(stringToSign).digest();
  const provided = Buffer.from(signature, "base64");
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    return {
      error: new AwsServiceError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        403,
      ),
      details: { AWSAccessKeyId: accessKeyId, StringToSign: stringToSign, SignatureProvided: signature },
    };
  }
  const expiresAt = Number(expiresText) * 1000;
  if (now > expiresAt) {
    return {
      error: new AwsServiceError("AccessDenied", "Request has expired", 403),
      details: { Expires: isoSeconds(expiresAt), ServerTime: isoSeconds(now) },
    };
  }
  return undefined;
}

/** `/bucket` when the bucket is in the Host (bucket.localhost:4566), as fauxqs reads it; else "". */
function virtualHostedBucket(req: IncomingMessage): string {
  const hostname = headerValue(req, "host").replace(/:\d+$/, "");
  if (!hostname.includes(".") || /^\d+\.\d+\.\d+\.\d+$/.test(hostname) || hostname.startsWith("[")) return "";
  return `/${hostname.slice(0, hostname.indexOf("."))}`;
}

function unknownAccessKey(accessKeyId: string, secrets: ReadonlyMap<string, string>): Refusal {
  return {
    error: new AwsServiceError(
      "InvalidAccessKeyId",
      `The AWS Access Key Id you provided does not exist in our records. (devcloud checks presigned URLs against its own credentials, ${[...secrets.keys()].join(", ")}.)`,
      403,
    ),
    details: { AWSAccessKeyId: accessKeyId },
  };
}

/**
 * The SigV4 canonical request of a presigned request, as the signer built it: the path as sent
 * for S3 (its signers do not encode it again), encoded once more for other services; every query
 * parameter but the signature, strictly encoded and sorted; the signed headers' trimmed values;
 * and the payload hash (X-Amz-Content-Sha256 if given, UNSIGNED-PAYLOAD for S3, else the body's).
 */
function canonicalRequestOf(
  req: IncomingMessage,
  body: Buffer,
  query: [string, string][],
  signedHeaders: string,
  service: string,
): string {
  const rawPath = (req.url ?? "/").split("?")[0] || "/";
  const path = service === "s3" ? rawPath : normalisedPath(rawPath);
  const canonicalQuery = query
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [escapeUri(key), escapeUri(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const names = signedHeaders.split(";");
  const headerLines = names.map((name) => `${name}:${headerValue(req, name)}\n`).join("");
  const payloadHash =
    query.find(([key]) => key === "X-Amz-Content-Sha256")?.[1] ??
    (service === "s3" ? "UNSIGNED-PAYLOAD" : sha256Hex(body));
  return [req.method ?? "GET", path, canonicalQuery, headerLines, signedHeaders, payloadHash].join("\n");
}

/** Other services' signers drop empty and dot segments and encode the (already encoded) path again. */
function normalisedPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const normalised = `${path.startsWith("/") ? "/" : ""}${segments.join("/")}${segments.length > 0 && path.endsWith("/") ? "/" : ""}`;
  return escapeUri(normalised).replace(/%2F/g, "/");
}

function headerValue(req: IncomingMessage, name: string): string {
  let value = req.headers[name];
  if (value === undefined && name === "host") value = req.headers[":authority"];
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return text.trim().replace(/\s+/g, " ");
}

/** The query string as [name, value] pairs, percent-decoded (a `+` is a plus, as SigV4 reads it). */
function parseQuery(url: string): [string, string][] {
  const at = url.indexOf("?");
  if (at < 0) return [];
  return url
    .slice(at + 1)
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf("=");
      return [decode(eq < 0 ? pair : pair.slice(0, eq)), eq < 0 ? "" : decode(pair.slice(eq + 1))];
    });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a malformed escape: kept as sent, so the signature cannot match
  }
}

/** SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded. */
const escapeUri = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
