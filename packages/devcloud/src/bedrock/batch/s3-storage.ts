import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { BatchStorage } from "./jobs.ts";

/**
 * Above this an output object goes up in parts of this size: the edge takes one request body up to
 * 11 MiB (as a single PUT of a 10 MiB document needs), and a job's `.out` file echoes every record's
 * input, so 10,000 documents' output is tens of MB (AWS writes files of up to a GB the same way).
 */
export const OUTPUT_PART_BYTES = 8 * 1024 * 1024;

/**
 * Batch jobs read their input from, and write their output to, devcloud's own S3 through the edge,
 * as Bedrock reads a customer's bucket: with the real S3 client, so a bucket that is missing or a
 * key that is not there fails the way it would in AWS. `settings` is asked for at the first use:
 * the edge is up by the time a job is created.
 */
export function s3BatchStorage(
  settings: () => ConstructorParameters<typeof S3Client>[0],
  partBytes = OUTPUT_PART_BYTES,
): BatchStorage {
  let client: S3Client | undefined;
  const s3 = () => {
    client ??= new S3Client({ ...settings(), forcePathStyle: true });
    return client;
  };

  async function putInParts(bucket: string, key: string, body: Buffer) {
    const { UploadId } = await s3().send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: "application/jsonl" }),
    );
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let start = 0; start < body.length; start += partBytes) {
        const PartNumber = parts.length + 1;
        const { ETag } = await s3().send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            PartNumber,
            Body: body.subarray(start, start + partBytes),
          }),
        );
        parts.push({ ETag: ETag!, PartNumber });
      }
      await s3().send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (error) {
      await s3()
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }))
        .catch(() => {});
      throw error;
    }
  }

  return {
    async list(bucket, prefix) {
      const objects: { key: string; size: number }[] = [];
      let token: string | undefined;
      do {
        const page = await s3().send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const object of page.Contents ?? []) objects.push({ key: object.Key!, size: object.Size ?? 0 });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return objects;
    },
    async get(bucket, key) {
      const object = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await object.Body?.transformToString("utf8")) ?? "";
    },
    async put(bucket, key, body) {
      const bytes = Buffer.from(body, "utf8");
      if (bytes.length > partBytes) return putInParts(bucket, key, bytes);
      await s3().send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: "application/jsonl" }),
      );
    },
  };
}
