import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { PublishBatchCommand, PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import {
  DOCUMENT_SUBMITTED,
  MESSAGE_TYPE_ATTRIBUTE,
  PRIORITY_ATTRIBUTE,
  SCHEMA_VERSION,
  type DocumentLocation,
  type DocumentSubmitted,
} from "@quire/contracts";

export const sha256Hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * Where a document travels: inline in the message while it fits with headroom under SNS/SQS's
 * 256 KiB, else stored in S3 with the message carrying a pointer (claim check).
 */
export async function placeDocument(
  s3: S3Client,
  options: { bucket: string; claimCheckBytes: number },
  jobId: string,
  text: string,
): Promise<DocumentLocation> {
  const sizeBytes = Buffer.byteLength(text, "utf8");
  if (sizeBytes <= options.claimCheckBytes) return { kind: "inline", text };
  const key = `documents/${jobId}.txt`;
  await s3.send(
    new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: text, ContentType: "text/plain; charset=utf-8" }),
  );
  return { kind: "s3", bucket: options.bucket, key, sizeBytes };
}

const attributes = (message: DocumentSubmitted) => ({
  [MESSAGE_TYPE_ATTRIBUTE]: { DataType: "String", StringValue: DOCUMENT_SUBMITTED },
  [PRIORITY_ATTRIBUTE]: { DataType: "String", StringValue: message.priority },
});

export function documentSubmittedMessage(input: Omit<DocumentSubmitted, "schemaVersion" | "type">): DocumentSubmitted {
  return { schemaVersion: SCHEMA_VERSION, type: DOCUMENT_SUBMITTED, ...input };
}

/** Publishes `document.submitted`; the `type` attribute is what every subscription filters on. */
export class DocumentPublisher {
  private readonly sns: SNSClient;
  private readonly topicArn: string;
  constructor(sns: SNSClient, topicArn: string) {
    this.sns = sns;
    this.topicArn = topicArn;
  }

  async publish(message: DocumentSubmitted): Promise<void> {
    await this.sns.send(
      new PublishCommand({ TopicArn: this.topicArn, Message: JSON.stringify(message), MessageAttributes: attributes(message) }),
    );
  }

  /** Up to 10 per call (SNS's PublishBatch limit); returns the jobIds SNS refused. */
  async publishBatch(messages: DocumentSubmitted[]): Promise<string[]> {
    if (messages.length === 0) return [];
    const { Failed = [] } = await this.sns.send(
      new PublishBatchCommand({
        TopicArn: this.topicArn,
        PublishBatchRequestEntries: messages.map((message, i) => ({
          Id: String(i),
          Message: JSON.stringify(message),
          MessageAttributes: attributes(message),
        })),
      }),
    );
    return Failed.map((failure) => messages[Number(failure.Id)]!.jobId);
  }
}
