import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import type { DocumentLocation } from "@quire/contracts";
import { PermanentError } from "@quire/runtime";

/** The document's text, from the message itself or from S3 when it came by claim check. */
export async function loadDocumentText(
  s3: S3Client,
  location: DocumentLocation,
  signal?: AbortSignal,
): Promise<string> {
  if (location.kind === "inline") return location.text;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }), {
      abortSignal: signal,
    });
    return await object.Body!.transformToString("utf8");
  } catch (error) {
    // A missing claim check never appears later: retrying would only delay the DLQ.
    if (error instanceof NoSuchKey || (error as Error).name === "NoSuchKey") {
      throw new PermanentError(
        "DOCUMENT_MISSING",
        `Claim check s3://${location.bucket}/${location.key} does not exist.`,
        { cause: error },
      );
    }
    throw error;
  }
}
