import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSMessageAttributes } from "aws-lambda";
import type { FailureReason } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** The attributes a dead-lettered message carries so an operator (or a redrive tool) sees why. */
export const FAILURE_ATTRIBUTES = {
  code: "quire.failure.code",
  message: "quire.failure.message",
  sourceQueue: "quire.source.queue",
  sourceMessageId: "quire.source.messageId",
  receiveCount: "quire.receiveCount",
} as const;

/** SQS rejects a message with more than 10 message attributes. */
const MAX_MESSAGE_ATTRIBUTES = 10;

const OURS = new Set<string>(Object.values(FAILURE_ATTRIBUTES));

export interface DeadLetterInput {
  sqs: SQSClient;
  deadLetterQueueUrl: string;
  /** The original body, byte for byte, so the message can be redriven unchanged. */
  body: string;
  /** The original message attributes (SDK shape). */
  messageAttributes?: Record<string, MessageAttributeValue> | undefined;
  reason: FailureReason;
  source: { queueName: string; messageId: string; receiveCount: number; messageGroupId?: string | undefined };
  log: Logger;
}

/**
 * Send the original body to the DLQ with the failure reason as message attributes. The caller
 * deletes the original afterwards (local host) or leaves that to the event source mapping
 * (Lambda host); a failure here throws, and the message stays on its queue to try again.
 */
export async function sendToDeadLetterQueue(input: DeadLetterInput): Promise<void> {
  const { reason, source } = input;
  // SQS rejects empty String values.
  const nonEmpty = (value: string) => value || "(empty)";
  const attributes: Record<string, MessageAttributeValue> = {
    [FAILURE_ATTRIBUTES.code]: { DataType: "String", StringValue: nonEmpty(reason.code) },
    [FAILURE_ATTRIBUTES.message]: { DataType: "String", StringValue: nonEmpty(reason.message) },
    [FAILURE_ATTRIBUTES.sourceQueue]: { DataType: "String", StringValue: nonEmpty(source.queueName) },
    [FAILURE_ATTRIBUTES.sourceMessageId]: { DataType: "String", StringValue: nonEmpty(source.messageId) },
    [FAILURE_ATTRIBUTES.receiveCount]: { DataType: "String", StringValue: String(source.receiveCount) },
  };

  // Keep the original attributes (an SNS filter's `type`, say) in the room the reason leaves.
  // A message redriven from a DLQ and failing again carries old reasons: the new ones win.
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(input.messageAttributes ?? {})) {
    if (OURS.has(name)) continue;
    const copy = copyAttribute(value);
    if (!copy) continue;
    if (Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES) {
      dropped.push(name);
      continue;
    }
    attributes[name] = copy;
  }
  if (dropped.length) input.log.warn("dead letter drops message attributes over the SQS limit of 10", { dropped });

  // A FIFO DLQ needs a group; the source message id deduplicates a repeated dead-lettering
  // (the send succeeded, the delete did not) within SQS's 5-minute window.
  const fifo = input.deadLetterQueueUrl.endsWith(".fifo")
    ? { MessageGroupId: source.messageGroupId ?? "dead-letter", MessageDeduplicationId: source.messageId }
    : {};
  await input.sqs.send(
    new SendMessageCommand({
      QueueUrl: input.deadLetterQueueUrl,
      MessageBody: input.body,
      MessageAttributes: attributes,
      ...fifo,
    }),
  );
}

/** Only DataType + String/Binary value are accepted on send (the *ListValues are reserved). */
export function copyAttribute(value: MessageAttributeValue): MessageAttributeValue | undefined {
  if (!value.DataType) return undefined;
  if (value.StringValue !== undefined) return { DataType: value.DataType, StringValue: value.StringValue };
  if (value.BinaryValue !== undefined) return { DataType: value.DataType, BinaryValue: value.BinaryValue };
  return undefined;
}

/** A Lambda SQS record's attributes (camelCase, binary as base64) in the SDK's shape. */
export function fromLambdaAttributes(
  attributes: SQSMessageAttributes | undefined,
): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value.stringValue !== undefined) out[name] = { DataType: value.dataType, StringValue: value.stringValue };
    else if (value.binaryValue !== undefined)
      out[name] = { DataType: value.dataType, BinaryValue: Buffer.from(value.binaryValue, "base64") };
  }
  return out;
}
