import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Outcome } from "../../consumer.ts";
import { sendToDeadLetterQueue } from "../../dead-letter.ts";
import type { Logger } from "../../logger.ts";
import { MAX_VISIBILITY_TIMEOUT_SECONDS, type RedeliveryPolicy } from "../../redelivery.ts";
import type { DeleteBatcher } from "./delete-batcher.ts";
import type { MessageLease } from "./lease.ts";
import type { LocalRunnerOptions, SettledCounts } from "./types.ts";

export interface SettleDependencies {
  sqs: SQSClient;
  queueName: string;
  deadLetterQueueUrl: string | undefined;
  deleter: DeleteBatcher;
  counts: SettledCounts;
  retryDelay: LocalRunnerOptions["retryDelaySeconds"];
  redelivery: RedeliveryPolicy;
}

/**
 * Applies a handler's outcome to SQS: success deletes the message; a transient failure hides it
 * for its retry delay (it waits in the queue, not in this process); a permanent one goes to the
 * DLQ with its reason, then is deleted. Any step that fails leaves the message to come back —
 * a duplicate later, never a loss.
 */
export function createSettler(deps: SettleDependencies) {
  const { counts } = deps;

  async function retryLater(lease: MessageLease, visibility: number, retryAfterSeconds: number) {
    if (deps.retryDelay === false) return;
    const chosen = deps.retryDelay === undefined ? retryAfterSeconds : deps.retryDelay(lease.receiveCount, visibility);
    const seconds = Math.max(0, Math.min(MAX_VISIBILITY_TIMEOUT_SECONDS, Math.round(chosen)));
    await lease.changeVisibility(seconds, "retry backoff");
  }

  async function deadLetter(
    lease: MessageLease,
    outcome: Outcome & { status: "permanent" },
    log: Logger,
    visibility: number,
  ) {
    const { message } = lease;
    const { reason } = outcome;
    if (!deps.deadLetterQueueUrl) {
      counts.failed++;
      log.error("permanent failure and no dead-letter queue configured; SQS redrive will move it", { reason });
      await retryLater(lease, visibility, 0);
      return;
    }
    try {
      await sendToDeadLetterQueue({
        sqs: deps.sqs,
        deadLetterQueueUrl: deps.deadLetterQueueUrl,
        body: message.Body ?? "",
        messageAttributes: message.MessageAttributes,
        reason,
        source: {
          queueName: deps.queueName,
          messageId: message.MessageId,
          receiveCount: lease.receiveCount,
          messageGroupId: message.Attributes?.MessageGroupId,
        },
        log,
      });
    } catch (error) {
      counts.failed++;
      log.error("dead-lettering failed; the message will be redelivered", { reason, error });
      await retryLater(lease, visibility, deps.redelivery.baseDelaySeconds);
      return;
    }
    counts.deadLettered++;
    log.error("message dead-lettered", { reason, deadLetterQueueUrl: deps.deadLetterQueueUrl });
    // If this delete fails the message is dead-lettered again on redelivery: a duplicate, never a loss.
    await deps.deleter.delete(message.MessageId, message.ReceiptHandle);
  }

  return async function settle(lease: MessageLease, outcome: Outcome, log: Logger, visibility: number) {
    switch (outcome.status) {
      case "succeeded":
        counts.succeeded++;
        await deps.deleter.delete(lease.message.MessageId, lease.message.ReceiptHandle);
        return;
      case "transient":
        counts.failed++;
        await retryLater(lease, visibility, outcome.retryAfterSeconds);
        return;
      case "permanent":
        await deadLetter(lease, outcome, log, visibility);
        return;
    }
  };
}
export type Settle = ReturnType<typeof createSettler>;
