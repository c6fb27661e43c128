import type { NotificationStore, OutcomeRecords, Subscription, VerifiableRun } from "@quire/notifications";
import type { ConsumerContext, Logger } from "@quire/runtime";
import { describe, expect, it } from "vitest";
import type { AttemptQueue } from "../src/delivery/queue.ts";
import { createNotifier } from "../src/handler.ts";

/**
 * A narrow unit: the notifier's fan-out with a notification store that counts what it is asked
 * (the e2e notification specs run the real store on devcloud).
 */
const run: VerifiableRun = {
  runId: "run_0123456789ABCDEFGHJKMNPQRS",
  total: 2,
  complete: 2,
  failed: 0,
  countsByClassification: {},
  startedAt: "2026-12-01T10:00:00.000Z",
  completedAt: "2026-12-01T10:00:05.000Z",
};
const runCompleted = {
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
    total: 2,
    completed: 2,
    failed: 0,
    countsByClassification: {},
    startedAt: run.startedAt,
    completedAt: "2026-12-01T10:00:05.000Z",
  },
};
const subscription = (events: string[]) =>
  ({ id: "sub_1", status: "active", events, url: "https://hooks.example.com/quire" }) as unknown as Subscription;

function notifierWith(subscriptions: Subscription[]) {
  const asked: string[] = [];
  const outcomes: OutcomeRecords = { getJob: async () => undefined, getRun: async () => run };
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

const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => log };
const ctx: ConsumerContext = {
  messageId: "m-1",
  receiveCount: 1,
  queueName: "quire-notifier",
  signal: new AbortController().signal,
  log,
};

describe("the notifier's fan-out of an outcome", () => {
  it("no subscription wants it: the subscriptions are read and nothing is written (no event record, no delivery)", async () => {
    const { consumer, asked } = notifierWith([subscription(["job.completed"])]);
    await consumer.handle(runCompleted, ctx);
    expect(asked).toEqual(["listSubscriptions"]);
  });

  it("a subscription wants it: the event is recorded, its delivery created and queued, the event marked fanned out", async () => {
    const { consumer, asked } = notifierWith([subscription(["run.completed"])]);
    await consumer.handle(runCompleted, ctx);
    expect(asked).toEqual([
      "listSubscriptions",
      "recordEvent",
      "createDelivery",
      "enqueueAll(1)",
      "markEventFannedOut",
    ]);
  });
});
