import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { DocumentLocation } from "@quire/contracts";

export const sha256Hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

/** Stores the text in S3 and returns the pointer the message carries instead (the claim check). */
export async function storeClaimCheck(
  s3: S3Client,
  bucket: string,
  jobId: string,
  text: string,
): Promise<DocumentLocation> {
  const key = `documents/${jobId}.txt`;
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: "text/plain; charset=utf-8" }),
  );
  return { kind: "s3", bucket, key, sizeBytes: utf8Bytes(text) };
}
