import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Pipeline } from "./pipeline.ts";

export interface SpiedEvent {
  "detail-type": string;
  source: string;
  detail: Record<string, unknown>;
}

/** Drain the bus spy queue until `until` holds for what was seen, or the timeout passes. */
export async function collectEvents(
  pipeline: Pipeline,
  until: (events: SpiedEvent[]) => boolean,
  timeoutMs = 30_000,
): Promise<SpiedEvent[]> {
  const seen: SpiedEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!until(seen) && Date.now() < deadline) {
    const { Messages = [] } = await pipeline.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.eventsQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of Messages) seen.push(JSON.parse(m.Body!) as SpiedEvent);
    if (Messages.length) {
      await pipeline.clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: pipeline.eventsQueueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  }
  return seen;
}

export const ofType = (events: SpiedEvent[], type: string) => events.filter((e) => e["detail-type"] === type);
