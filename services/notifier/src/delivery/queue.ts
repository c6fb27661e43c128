import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { deliveryId, isoTimestamp } from "@quire/contracts";
import { z } from "zod";

/** One attempt of one delivery, waiting on the notifier's delivery queue. */
export const attemptMessage = z.object({
  deliveryId,
  attempt: z.number().int().positive(),
  /** Not before this time: delays beyond SQS's 15 minutes are chained through several hops. */
  notBefore: isoTimestamp.optional(),
});
export type AttemptMessage = z.infer<typeof attemptMessage>;

/** SQS's longest DelaySeconds. */
export const MAX_SQS_DELAY_SECONDS = 900;

/**
 * Retries wait in SQS, never in a handler: each attempt is a message delayed until it is due.
 * A wait longer than SQS allows arrives early and is sent on again for the rest (`notBefore`).
 */
export function createAttemptQueue(deps: { sqs: SQSClient; queueUrl: string; now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  const delayOf = (message: AttemptMessage) => {
    const waitMs = message.notBefore ? Date.parse(message.notBefore) - now().getTime() : 0;
    return Math.max(0, Math.min(MAX_SQS_DELAY_SECONDS, Math.ceil(waitMs / 1000)));
  };
  return {
    delayOf,
    async enqueue(message: AttemptMessage): Promise<void> {
      await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: deps.queueUrl,
          MessageBody: JSON.stringify(message),
          DelaySeconds: delayOf(message),
        }),
      );
    },
    async enqueueAll(messages: readonly AttemptMessage[]): Promise<void> {
      for (let i = 0; i < messages.length; i += 10) {
        const batch = messages.slice(i, i + 10);
        const { Failed = [] } = await deps.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: deps.queueUrl,
            Entries: batch.map((message, j) => ({
              Id: String(j),
              MessageBody: JSON.stringify(message),
              DelaySeconds: delayOf(message),
            })),
          }),
        );
        // Throwing makes the event redeliver; deliveries already queued are deduplicated by their claim.
        if (Failed.length)
          throw new Error(
            `could not queue ${Failed.length} delivery attempt(s): ${Failed.map((f) => f.Message ?? f.Code).join("; ")}`,
          );
      }
    },
  };
}
export type AttemptQueue = ReturnType<typeof createAttemptQueue>;
