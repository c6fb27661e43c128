import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "../../logger.ts";
import { receiveBackoffMs, sleep } from "./timing.ts";

export interface QueueSettings {
  visibilityTimeoutSeconds: number;
  /** From the queue's RedrivePolicy; undefined when it has none. */
  maxReceiveCount: number | undefined;
}

/**
 * The queue's visibility timeout and redrive limit, read once at start. SQS (or devcloud) may
 * not answer yet: the read is retried with backoff until it does, or until `signal` aborts
 * (the runner stopping), which answers undefined.
 */
export async function readQueueSettings(
  sqs: SQSClient,
  queueUrl: string,
  log: Logger,
  signal: AbortSignal,
): Promise<QueueSettings | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["VisibilityTimeout", "RedrivePolicy"] }),
      );
      const seconds = Number(Attributes?.VisibilityTimeout);
      if (!Number.isFinite(seconds))
        throw new Error(`queue reported VisibilityTimeout ${Attributes?.VisibilityTimeout}`);
      return { visibilityTimeoutSeconds: seconds, maxReceiveCount: redriveLimitOf(Attributes?.RedrivePolicy) };
    } catch (error) {
      const retryInMs = receiveBackoffMs(attempt);
      log.warn("could not read the queue's visibility timeout; retrying", { error, attempt, retryInMs });
      await sleep(retryInMs, signal);
    }
  }
  return undefined;
}

function redriveLimitOf(policy: string | undefined): number | undefined {
  if (!policy) return undefined;
  const limit = Number((JSON.parse(policy) as { maxReceiveCount?: unknown }).maxReceiveCount);
  return Number.isInteger(limit) && limit > 0 ? limit : undefined;
}
