import {
  BatchProcessor,
  EventType,
  SqsFifoPartialProcessorAsync,
  processPartialResponse,
} from "@aws-lambda-powertools/batch";
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { processMessage, type Consumer } from "../consumer.ts";
import { fromLambdaAttributes, sendToDeadLetterQueue } from "../dead-letter.ts";
import { createLogger, type Logger } from "../logger.ts";
import { resolveRedeliveryPolicy, type RedeliveryPolicy } from "../redelivery.ts";

export interface LambdaHostOptions {
  /** Where permanent failures go at once. Without it they are retried until SQS's redrive moves them. */
  deadLetterQueueUrl?: string | undefined;
  /**
   * The source queue's URL: a transiently failed record's visibility is set to its retry delay
   * (ChangeMessageVisibility) before it is reported in batchItemFailures, so it waits in the
   * queue for a growing delay instead of coming back after the queue's fixed timeout. Without it
   * the queue's visibility timeout applies.
   */
  queueUrl?: string | undefined;
  /** Backoff and age budget for transient failures (default DEFAULT_REDELIVERY_POLICY). */
  redelivery?: Partial<RedeliveryPolicy> | undefined;
  /**
   * The source queue's redrive maxReceiveCount (from the topology): the last allowed delivery is dead-lettered with its
   * reason.
   */
  maxReceiveCount?: number | undefined;
  /** Default: `new SQSClient({})`, created on the first dead-lettering (region from the Lambda environment). */
  sqs?: SQSClient | undefined;
  log?: Logger | undefined;
  /** ctx.signal aborts this long before the invocation's deadline, so handlers can stop cleanly. Default 2000. */
  abortBeforeTimeoutMs?: number | undefined;
}

/**
 * The Lambda host: an SQS event source mapping handler (configure it with
 * `ReportBatchItemFailures`). Powertools' BatchProcessor runs the records in parallel and
 * collects the partial batch response; transient failures are thrown so they land in
 * `batchItemFailures`, permanent ones are dead-lettered here and then reported as successes,
 * which makes the event source mapping delete them from the source queue.
 */
export function createLambdaHandler<T>(
  consumer: Consumer<T>,
  options: LambdaHostOptions = {},
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const hostLog = options.log ?? createLogger({ host: "lambda" });
  const abortMargin = options.abortBeforeTimeoutMs ?? 2000;
  let sqs = options.sqs;
  const client = () => (sqs ??= new SQSClient({}));
  const redelivery = resolveRedeliveryPolicy(options.redelivery);

  async function handleRecord(record: SQSRecord, signal: AbortSignal, log: Logger): Promise<void> {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    const queueName = record.eventSourceARN.split(":").at(-1) ?? record.eventSourceARN;
    const { outcome, log: messageLog } = await processMessage(
      consumer,
      {
        body: record.body,
        messageId: record.messageId,
        receiveCount,
        queueName,
        signal,
        maxReceiveCount: options.maxReceiveCount,
        sentAt: Number(record.attributes.SentTimestamp) || undefined,
        attributes: Object.fromEntries(
          Object.entries(record.messageAttributes ?? {}).flatMap(([name, value]) =>
            value.stringValue === undefined ? [] : [[name, value.stringValue]],
          ),
        ),
      },
      log,
      { redelivery },
    );
    switch (outcome.status) {
      case "succeeded":
        return;
      case "transient":
        if (options.queueUrl) {
          try {
            await client().send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: options.queueUrl,
                ReceiptHandle: record.receiptHandle,
                VisibilityTimeout: outcome.retryAfterSeconds,
              }),
            );
          } catch (error) {
            // The queue's own visibility timeout applies instead: a shorter wait, never a loss.
            messageLog.warn("could not set the retry delay; the queue's visibility timeout applies", { error });
          }
        }
        // Powertools reads error.message; a thrown non-Error would lose it.
        throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
      case "permanent": {
        const { reason } = outcome;
        if (!options.deadLetterQueueUrl) {
          messageLog.error("permanent failure and no dead-letter queue configured; SQS redrive will move it", {
            reason,
          });
          throw new Error(`${reason.code}: ${reason.message}`);
        }
        try {
          await sendToDeadLetterQueue({
            sqs: client(),
            deadLetterQueueUrl: options.deadLetterQueueUrl,
            body: record.body,
            messageAttributes: fromLambdaAttributes(record.messageAttributes),
            reason,
            source: {
              queueName,
              messageId: record.messageId,
              receiveCount,
              messageGroupId: record.attributes.MessageGroupId,
            },
            log: messageLog,
          });
        } catch (error) {
          // Not dead-lettered, so it must not be deleted: report it, and it comes back.
          messageLog.error("dead-lettering failed; the message will be redelivered", { reason, error });
          throw error instanceof Error ? error : new Error(String(error));
        }
        messageLog.error("message dead-lettered", { reason, deadLetterQueueUrl: options.deadLetterQueueUrl });
        return;
      }
    }
  }

  let coldStart = true;
  return async (event, context) => {
    // What Powertools Logger adds in Lambda: the request, the X-Ray trace (Lambda sets it per
    // invocation) and whether this invocation paid for the cold start.
    const traceId = process.env._X_AMZN_TRACE_ID?.match(/Root=([^;]+)/)?.[1];
    const log = hostLog.child({
      awsRequestId: context.awsRequestId,
      coldStart,
      ...(traceId ? { xrayTraceId: traceId } : {}),
    });
    coldStart = false;
    // The processors keep per-batch state, so each invocation gets its own. FIFO queues need
    // the processor that stops at the first failure, or later messages of a group would overtake it.
    const fifo = event.Records[0]?.eventSourceARN.endsWith(".fifo") ?? false;
    const processor = fifo ? new SqsFifoPartialProcessorAsync() : new BatchProcessor(EventType.SQS);

    // The host "gives up" when Lambda is about to kill the invocation: tell the handlers first.
    const controller = new AbortController();
    const remaining =
      typeof context.getRemainingTimeInMillis === "function" ? context.getRemainingTimeInMillis() : undefined;
    const timer =
      remaining === undefined
        ? undefined
        : setTimeout(
            () => controller.abort(new Error("Lambda invocation is about to time out")),
            Math.max(0, remaining - abortMargin),
          );
    try {
      return await processPartialResponse(
        event,
        (record: SQSRecord) => handleRecord(record, controller.signal, log),
        processor,
        {
          context,
          // A partial batch response even when every record failed, rather than Powertools'
          // FullBatchFailureError: the effect on SQS is the same, and the caller gets one shape.
          throwOnFullBatchFailure: false,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  };
}
