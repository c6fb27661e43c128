import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";

/** S3's smallest part but the last (5 MiB); parts of 8 MiB keep a 1 GB file within 10,000 parts. */
export const PART_BYTES = 8 * 1024 * 1024;

/**
 * A JSONL object written a line at a time as a multipart upload: memory holds one part, however
 * large the object (a batch input file may be 1 GB; one PutObject would hold all of it, and a local
 * S3 may refuse a body that large). Every call is the caller's to await in order.
 */
export async function createS3LineWriter(s3: S3Client, bucket: string, key: string, partBytes = PART_BYTES) {
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: "application/jsonl" }),
  );
  const parts: { ETag: string; PartNumber: number }[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lines = 0;
  let bytes = 0;

  async function flush() {
    if (pendingBytes === 0) return;
    const PartNumber = parts.length + 1;
    const body = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body }),
    );
    parts.push({ ETag: ETag!, PartNumber });
  }

  return {
    key,
    get lines() {
      return lines;
    },
    get bytes() {
      return bytes;
    },
    async write(line: string) {
      const chunk = Buffer.from(`${line}\n`, "utf8");
      pending.push(chunk);
      pendingBytes += chunk.length;
      lines++;
      bytes += chunk.length;
      if (pendingBytes >= partBytes) await flush();
    },
    async end() {
      await flush();
      await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    },
    /** Gives the upload up (its parts are not kept, nor billed). */
    async abort() {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
    },
  };
}
export type S3LineWriter = Awaited<ReturnType<typeof createS3LineWriter>>;
