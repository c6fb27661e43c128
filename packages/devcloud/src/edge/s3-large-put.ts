import type { IncomingMessage, ServerResponse } from "node:http";
import { requestBuffered } from "./proxy.ts";

/** Above this, a PutObject is streamed to S3 in parts instead of buffered as one request. */
export const LARGE_PUT_BYTES = 8 * 1024 * 1024;
/** S3's largest single PUT: 5 GiB ("Your proposed upload exceeds the maximum allowed size"). */
export const S3_MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;

/**
 * Whether a request is a plain PutObject larger than the edge buffers: a PUT of an object (not a
 * part, not a copy) whose body is the object itself (not aws-chunked: the SDKs send those for
 * streams of unknown length, with their own framing) and declared over LARGE_PUT_BYTES.
 */
export function isLargeObjectPut(req: IncomingMessage): boolean {
  if (req.method !== "PUT") return false;
  const length = Number(req.headers["content-length"]);
  if (!Number.isFinite(length) || length <= LARGE_PUT_BYTES) return false;
  if (req.headers["x-amz-copy-source"]) return false;
  if (String(req.headers["content-encoding"] ?? "").includes("aws-chunked")) return false;
  if (String(req.headers["x-amz-content-sha256"] ?? "").startsWith("STREAMING-")) return false;
  const url = new URL(req.url ?? "/", "http://edge");
  if (url.searchParams.has("uploadId") || url.searchParams.has("partNumber")) return false;
  // Path style (/bucket/key), as devcloud's clients and presigned URLs address it.
  return /^\/[^/]+\/.+/.test(url.pathname);
}

interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/**
 * S3's single PUT takes up to 5 GiB; fauxqs takes 11 MiB a request (its HTTP body limit). A
 * larger PutObject — a run's manifest uploaded to its presigned URL, a batch job's output — is
 * streamed into a multipart upload on fauxqs, 8 MiB a part, and answered as PutObject is, so a
 * local upload succeeds where AWS's would (and one over 5 GiB fails as AWS's does). Memory holds
 * one part, whatever the object's size. The caller has authenticated the request.
 */
export async function putObjectInParts(port: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const length = Number(req.headers["content-length"]);
  if (length > S3_MAX_PUT_BYTES) {
    req.resume();
    return writeS3Error(
      res,
      400,
      "EntityTooLarge",
      "Your proposed upload exceeds the maximum allowed size",
      `<ProposedSize>${length}</ProposedSize><MaxSizeAllowed>${S3_MAX_PUT_BYTES}</MaxSizeAllowed>`,
    );
  }
  const path = new URL(req.url ?? "/", "http://edge").pathname;
  const host = req.headers.host ?? `127.0.0.1:${port}`;
  const send = async (
    method: string,
    query: string,
    body: Buffer | string = "",
    headers: Record<string, string> = {},
  ) => {
    const answer = await requestBuffered(
      port,
      {
        method,
        path: `${path}?${query}`,
        headers: { host, "content-length": String(Buffer.byteLength(body)), ...headers },
      },
      body,
    );
    return { status: answer.status, headers: answer.headers, body: answer.body.toString("utf8") };
  };

  const objectHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value !== "string") continue;
    if (
      name === "content-type" ||
      name === "cache-control" ||
      name === "content-disposition" ||
      name.startsWith("x-amz-meta-")
    )
      objectHeaders[name] = value;
  }
  const created = await send("POST", "uploads", undefined, objectHeaders);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)?.[1];
  if (created.status !== 200 || !uploadId) {
    req.resume();
    return relay(res, created);
  }
  const id = encodeURIComponent(uploadId);
  const parts: { number: number; etag: string }[] = [];
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let received = 0;
    const flush = async () => {
      const number = parts.length + 1;
      const answer = await send("PUT", `partNumber=${number}&uploadId=${id}`, Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
      const etag = answer.headers.etag;
      if (answer.status !== 200 || typeof etag !== "string") throw Object.assign(new Error("part refused"), { answer });
      parts.push({ number, etag });
    };
    for await (const chunk of req as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      received += chunk.length;
      if (pendingBytes >= LARGE_PUT_BYTES) await flush();
    }
    if (received !== length) {
      throw Object.assign(new Error("incomplete body"), {
        answer: s3ErrorAnswer(
          400,
          "IncompleteBody",
          "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ),
      });
    }
    if (pendingBytes > 0) await flush();
    const completion = `<CompleteMultipartUpload>${parts
      .map((part) => `<Part><PartNumber>${part.number}</PartNumber><ETag>${part.etag}</ETag></Part>`)
      .join("")}</CompleteMultipartUpload>`;
    const completed = await send("POST", `uploadId=${id}`, completion, { "content-type": "application/xml" });
    if (completed.status !== 200) throw Object.assign(new Error("completion refused"), { answer: completed });
    const etag = /<ETag>([^<]+)<\/ETag>/.exec(completed.body)?.[1]?.replaceAll("&quot;", '"');
    res.writeHead(200, {
      ...(etag ? { etag } : {}),
      "x-amz-request-id": crypto.randomUUID(),
      "content-length": 0,
    });
    res.end();
  } catch (error) {
    await send("DELETE", `uploadId=${id}`).catch(() => undefined);
    const answer = (error as { answer?: Answer }).answer;
    if (res.headersSent) return void res.destroy();
    if (answer) return relay(res, answer);
    writeS3Error(res, 500, "InternalError", `devcloud could not store the object: ${(error as Error).message}`);
  }
}

function relay(res: ServerResponse, answer: Answer) {
  res.writeHead(answer.status, {
    "content-type": String(answer.headers["content-type"] ?? "application/xml"),
    "content-length": Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
}

function s3ErrorAnswer(status: number, code: string, message: string, extra = ""): Answer {
  return {
    status,
    headers: { "content-type": "application/xml" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>${crypto.randomUUID()}</RequestId></Error>`,
  };
}

function writeS3Error(res: ServerResponse, status: number, code: string, message: string, extra = "") {
  relay(res, s3ErrorAnswer(status, code, message, extra));
}
