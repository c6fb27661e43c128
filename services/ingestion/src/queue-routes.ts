import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from "@aws-sdk/client-sqs";
import { z } from "@hono/zod-openapi";
import { defineRoute, errorResponses, INTERNAL, json, keyScope, UNAUTHORIZED } from "@quire/http-api";
import type { createApiApp } from "@quire/http-api";

/** A work queue of the topology, the service consuming it, and where it and its DLQ are. */
export interface DeclaredQueue {
  name: string;
  consumer: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
}

export type QueueDepth =
  | { name: string; consumer: string; visible: number; inFlight: number; delayed: number; deadLetters: number }
  | { name: string; consumer: string; error: string };

/**
 * Every queue's depth from SQS's approximate counts (GetQueueAttributes on the queue and on its
 * DLQ: no message is received, so reading changes nothing). One queue that cannot be read (gone,
 * not permitted) is answered with why, beside the others, rather than failing them all.
 */
export function createQueueDepths(options: { sqs: SQSClient; queues: readonly DeclaredQueue[] }) {
  const attributes = async (queueUrl: string, names: QueueAttributeName[]) => {
    const { Attributes = {} } = await options.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }),
    );
    return (name: QueueAttributeName) => Number(Attributes[name] ?? 0);
  };
  async function depthOf(queue: DeclaredQueue): Promise<QueueDepth> {
    const { name, consumer } = queue;
    try {
      const [work, dead] = await Promise.all([
        attributes(queue.queueUrl, [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed",
        ]),
        attributes(queue.deadLetterQueueUrl, ["ApproximateNumberOfMessages"]),
      ]);
      return {
        name,
        consumer,
        visible: work("ApproximateNumberOfMessages"),
        inFlight: work("ApproximateNumberOfMessagesNotVisible"),
        delayed: work("ApproximateNumberOfMessagesDelayed"),
        deadLetters: dead("ApproximateNumberOfMessages"),
      };
    } catch (error) {
      const { name: kind, message } = error as Error;
      return { name, consumer, error: `${kind}: ${message}` };
    }
  }
  return { read: () => Promise.all(options.queues.map(depthOf)) };
}
export type QueueDepths = ReturnType<typeof createQueueDepths>;

const count = (description: string) => z.int().nonnegative().meta({ description });
const queueIdentity = {
  name: z.string().meta({ description: "The queue as the topology names it.", example: "summarizer" }),
  consumer: z.string().meta({ description: "The service that consumes it.", example: "summarizer" }),
};
const queueDepth = z
  .union([
    z.strictObject({
      ...queueIdentity,
      visible: count("Messages waiting to be received (ApproximateNumberOfMessages)."),
      inFlight: count("Received and being worked on, not yet deleted (ApproximateNumberOfMessagesNotVisible)."),
      delayed: count(
        "Waiting out a delay before they can be received: retries backing off (ApproximateNumberOfMessagesDelayed).",
      ),
      deadLetters: count("In its DLQ (the DLQ's ApproximateNumberOfMessages): see /v1/dead-letters."),
    }),
    z.strictObject({
      ...queueIdentity,
      error: z.string().meta({
        description: "Why this queue's counts could not be read; the other queues are answered as usual.",
        example: "QueueDoesNotExist: The specified queue does not exist.",
      }),
    }),
  ])
  .meta({ id: "QueueDepth", description: "One queue's approximate counts, or why they could not be read." });
const queueDepths = z
  .strictObject({ queues: z.array(queueDepth) })
  .meta({ id: "QueueDepths", description: "Every queue of the pipeline, in the topology's order." });

/** GET /v1/queues: how much work waits where (see createQueueDepths). */
export function registerQueueRoutes(app: ReturnType<typeof createApiApp>, depths: QueueDepths) {
  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/queues",
      operationId: "listQueues",
      summary: "Every queue's depth",
      description:
        "Each work queue of the pipeline (bulk and interactive lanes, the notifier's) with the service consuming it and SQS's approximate counts: waiting, in flight, delayed, and dead-lettered. Approximate: SQS's own counts, a few seconds behind. A queue whose counts cannot be read carries `error` instead.",
      tags: ["Queues"],
      security: keyScope("jobs:read"),
      responses: {
        200: json(queueDepths, { description: "The queues." }),
        ...errorResponses({ 401: UNAUTHORIZED, 500: INTERNAL }),
      },
    },
    async (c) => c.json({ queues: await depths.read() }),
  );
}
