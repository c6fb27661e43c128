import type { NotificationStore, OutcomeRecords, Subscription, VerifiableRun } from "@quire/notifications";
import type { ConsumerContext, Logger } from "@quire/runtime";
import type { AttemptQueue } from "../src/delivery/queue.ts";
import { createNotifier } from "../src/handler.ts";

/**
 * For narrow units of the notifier's consumer: the job store reduced to its run read, and a
 * notification store and attempt queue that record what they are asked, in order. (The e2e specs
 * run the real ones.)
 */
export function countingNotifier(stored: VerifiableRun, subscriptions: Subscription[] = []) {
  const asked: string[] = [];
  const outcomes: OutcomeRecords = { getJob: async () => undefined, getRun: async () => stored };
  const store = new Proxy({} as NotificationStore, {
    get: (_, name) => async (input: { id?: string }) => {
      asked.push(String(name));
      if (name === "listSubscriptions") return subscriptions;
      if (name === "recordEvent") return { fannedOut: false };
      if (name === "createDelivery") return { delivery: { id: input.id, attempts: 0, status: "pending" } };
      return undefined;
    },
  });
  const queue = {
    enqueueAll: async (attempts: unknown[]) => asked.push(`enqueueAll(${attempts.length})`),
  } as unknown as AttemptQueue;
  return { consumer: createNotifier({ store, queue, outcomes }), asked };
}

/** A "Run Completed" event from the bus claiming `counts` for `run`. */
export const runCompletedEvent = (run: VerifiableRun, counts: { completed: number; failed: number }) => ({
  version: "0" as const,
  id: "event-1",
  "detail-type": "Run Completed" as const,
  source: "quire.classifier",
  account: "000000000000",
  time: "2026-12-01T10:00:05.000Z",
  region: "us-east-1",
  resources: [],
  detail: {
    schemaVersion: 1,
    runId: run.runId,
    total: run.total,
    ...counts,
    countsByClassification: {},
    startedAt: run.startedAt,
    completedAt: "2026-12-01T10:00:05.000Z",
  },
});

/** The notifier queue's consumer context, logging to `log`. */
export const notifierContext = (log: Logger): ConsumerContext => ({
  messageId: "m-1",
  receiveCount: 1,
  queueName: "quire-notifier",
  signal: new AbortController().signal,
  log,
});
