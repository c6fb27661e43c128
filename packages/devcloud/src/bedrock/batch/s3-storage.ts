import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { BatchStorage } from "./jobs.ts";

/**
 * Batch jobs read their input from, and write their output to, devcloud's own S3 through the edge,
 * as Bedrock reads a customer's bucket: with the real S3 client, so a bucket that is missing or a
 * key that is not there fails the way it would in AWS. `settings` is asked for at the first use:
 * the edge is up by the time a job is created. An output file is one PutObject, as large as the
 * job's records make it (tens of MB for 10,000 documents: each line echoes its input): the edge
 * takes PutObjects up to S3's 5 GiB, streaming them to fauxqs in parts (edge/s3-large-put.ts).
 */
export function s3BatchStorage(settings: () => ConstructorParameters<typeof S3Client>[0]): BatchStorage {
  let client: S3Client | undefined;
  const s3 = () => {
    client ??= new S3Client({ ...settings(), forcePathStyle: true });
    return client;
  };
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
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/jsonl" }));
    },
  };
}
