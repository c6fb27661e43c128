import { DeleteMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "../../logger.ts";

export interface DeleteBatcher {
  /** True when SQS deleted it; false means it will come back (handlers are idempotent). */
  delete(messageId: string, receiptHandle: string): Promise<boolean>;
  /** Resolves once every delete asked for so far has been answered. */
  flush(): Promise<void>;
}

/**
 * Deletes coalesced into DeleteMessageBatch calls: the first delete goes out alone, those
 * arriving while it is in flight go together in the next call (no timer adds latency), at most
 * 10 per call (SQS's batch limit).
 */
export function createDeleteBatcher(sqs: SQSClient, queueUrl: string, log: Logger): DeleteBatcher {
  type Pending = { id: string; receiptHandle: string; resolve: (deleted: boolean) => void };
  let pending: Pending[] = [];
  let draining: Promise<void> | undefined;

  async function drain() {
    while (pending.length) {
      const batch = pending.slice(0, 10);
      pending = pending.slice(10);
      const entries = batch.map((p, i) => ({ Id: String(i), ReceiptHandle: p.receiptHandle }));
      try {
        const result = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
        batch.forEach((p, i) => {
          const failure = failed.get(String(i));
          // The message comes back after its visibility timeout and is handled again: handlers are idempotent.
          if (failure)
            log.warn("delete failed; the message will be redelivered", {
              messageId: p.id,
              code: failure.Code,
              reason: failure.Message,
            });
          p.resolve(!failure);
        });
      } catch (error) {
        log.warn("delete failed; the messages will be redelivered", { messageIds: batch.map((p) => p.id), error });
        for (const p of batch) p.resolve(false);
      }
    }
    draining = undefined;
  }

  return {
    delete(id, receiptHandle) {
      return new Promise((resolve) => {
        pending.push({ id, receiptHandle, resolve });
        draining ??= drain();
      });
    },
    flush: () => draining ?? Promise.resolve(),
  };
}
