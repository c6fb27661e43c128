import { PublishBatchCommand, PublishCommand, type MessageAttributeValue, type SNSClient } from "@aws-sdk/client-sns";
import {
  DOCUMENT_SUBMITTED,
  MESSAGE_TYPE_ATTRIBUTE,
  PRIORITY_ATTRIBUTE,
  RUN_BATCH,
  type DocumentSubmitted,
  type RunBatch,
} from "@quire/contracts";

/**
 * SNS's limits: a message, its message attributes included, is at most 256 KiB (262,144 bytes),
 * and so is a whole PublishBatch request (every entry's message and attributes together), of
 * at most 10 entries. SQS, behind the raw-delivery subscriptions, takes what SNS takes.
 */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
export const SNS_MAX_BATCH_BYTES = 262_144;
export const SNS_MAX_BATCH_ENTRIES = 10;

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

const attributes = (message: DocumentSubmitted): Record<string, MessageAttributeValue> => ({
  [MESSAGE_TYPE_ATTRIBUTE]: { DataType: "String", StringValue: DOCUMENT_SUBMITTED },
  [PRIORITY_ATTRIBUTE]: { DataType: "String", StringValue: message.priority },
});

/**
 * The bytes SNS counts toward a message's size: the body, and each message attribute's name,
 * data type and value ("all parts of the message attribute, including name, type, and value,
 * are included in the message size restriction").
 */
export function snsMessageBytes(body: string, messageAttributes: Record<string, MessageAttributeValue>): number {
  let bytes = utf8Bytes(body);
  for (const [name, value] of Object.entries(messageAttributes)) {
    bytes += utf8Bytes(name) + utf8Bytes(value.DataType ?? "");
    bytes += value.StringValue !== undefined ? utf8Bytes(value.StringValue) : (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

/** `document.submitted` as SNS gets it: the body, its attributes, and the size SNS counts. */
export function encodeDocumentSubmitted(message: DocumentSubmitted) {
  const body = JSON.stringify(message);
  const messageAttributes = attributes(message);
  return { message, body, messageAttributes, bytes: snsMessageBytes(body, messageAttributes) };
}
export type EncodedMessage = ReturnType<typeof encodeDocumentSubmitted>;

/**
 * Whether a message carrying its document inline may go as it is: the text is within
 * `claimCheckBytes` (QUIRE_CLAIM_CHECK_BYTES, a preference) and the message as SNS counts it
 * (JSON escapes and attributes included: 200 KiB of control characters is 1.2 MB escaped) fits
 * SNS's 256 KiB, which no setting can raise. Otherwise the text goes by claim check.
 */
export function fitsInline(message: DocumentSubmitted, claimCheckBytes: number): boolean {
  if (message.document.kind !== "inline") return false;
  const textBytes = utf8Bytes(message.document.text);
  // Cheap refusals first: the text alone is too big, escaped or not.
  if (textBytes > claimCheckBytes || textBytes > SNS_MAX_MESSAGE_BYTES) return false;
  return encodeDocumentSubmitted(message).bytes <= SNS_MAX_MESSAGE_BYTES;
}

/**
 * Splits messages, in order, into PublishBatch requests SNS accepts: at most 10 entries and at
 * most 256 KiB in all. A message over 256 KiB on its own (the claim check sees that none is)
 * gets a batch of its own, for SNS to refuse.
 */
export function packBatches(messages: EncodedMessage[]): EncodedMessage[][] {
  const batches: EncodedMessage[][] = [];
  let current: EncodedMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (
      current.length === SNS_MAX_BATCH_ENTRIES ||
      (current.length > 0 && bytes + message.bytes > SNS_MAX_BATCH_BYTES)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += message.bytes;
  }
  if (current.length) batches.push(current);
  return batches;
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
    const { body, messageAttributes } = encodeDocumentSubmitted(message);
    await this.sns.send(
      new PublishCommand({ TopicArn: this.topicArn, Message: body, MessageAttributes: messageAttributes }),
    );
  }

  /** A run to compute through batch inference, for the batcher (its subscription filters on the type). */
  async publishRunBatch(message: RunBatch): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: JSON.stringify(message),
        MessageAttributes: { [MESSAGE_TYPE_ATTRIBUTE]: { DataType: "String", StringValue: RUN_BATCH } },
      }),
    );
  }

  /**
   * Any number of messages, in as few PublishBatch calls as SNS's limits allow (see
   * packBatches). Returns each message SNS did not take, with why: the entries SNS refused,
   * and every entry of a call that failed as a whole. Never throws for a failed call.
   */
  async publishBatch(messages: DocumentSubmitted[]): Promise<{ jobId: string; reason: string }[]> {
    const refused: { jobId: string; reason: string }[] = [];
    for (const batch of packBatches(messages.map(encodeDocumentSubmitted))) {
      try {
        const { Failed = [] } = await this.sns.send(
          new PublishBatchCommand({
            TopicArn: this.topicArn,
            PublishBatchRequestEntries: batch.map((entry, i) => ({
              Id: String(i),
              Message: entry.body,
              MessageAttributes: entry.messageAttributes,
            })),
          }),
        );
        for (const failure of Failed) {
          refused.push({
            jobId: batch[Number(failure.Id)]!.message.jobId,
            reason: `refused by SNS: ${failure.Code ?? "unknown"} ${failure.Message ?? ""}`.trim(),
          });
        }
      } catch (error) {
        for (const entry of batch) refused.push({ jobId: entry.message.jobId, reason: (error as Error).message });
      }
    }
    return refused;
  }
}
