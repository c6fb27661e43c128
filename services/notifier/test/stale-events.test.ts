import type { NotificationStore, OutcomeRecords, VerifiableRun } from "@quire/notifications";
import { isPermanentError, type ConsumerContext, type Logger } from "@quire/runtime";
import { describe, expect, it } from "vitest";
import type { AttemptQueue } from "../src/delivery/queue.ts";
import { createNotifier } from "../src/handler.ts";

/**
 * A narrow unit: the notifier's consumer with the job store reduced to its two reads and a
 * notification store that counts what it is asked. (The e2e specs run the real ones.)
 */
const run: VerifiableRun = {
  runId: "run_0123456789ABCDEFGHJKMNPQRS",
  total: 2,
  complete: 0,
  failed: 1,
  countsByClassification: {},
  startedAt: "2026-12-01T10:00:00.000Z",
};

function notifierWith(stored: VerifiableRun) {
  const asked: string[] = [];
  const outcomes: OutcomeRecords = { getJob: async () => undefined, getRun: async () => stored };
  const store = new Proxy({} as NotificationStore, {
    get: (_, name) => async () => {
      asked.push(String(name));
      return name === "recordEvent" ? { fannedOut: false } : [];
    },
  });
  const queue = { send: async () => asked.push("queue.send") } as unknown as AttemptQueue;
  return { consumer: createNotifier({ store, queue, outcomes }), asked };
}

const lines: string[] = [];
const log: Logger = {
  debug: () => {},
  info: (msg) => lines.push(msg),
  warn: (msg) => lines.push(msg),
  error: (msg) => lines.push(msg),
  child: () => log,
};
const ctx: ConsumerContext = {
  messageId: "m-1",
  receiveCount: 1,
  queueName: "quire-notifier",
  signal: new AbortController().signal,
  log,
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
    completed: 0,
    failed: 2,
    countsByClassification: {},
    startedAt: run.startedAt,
    completedAt: "2026-12-01T10:00:05.000Z",
  },
};

describe("a Run Completed the store no longer holds", () => {
  it("superseded by a redrive (the run was opened again): acknowledged, nothing announced, nothing dead-lettered", async () => {
    const { consumer, asked } = notifierWith({ ...run, reopenedAt: "2026-12-01T10:00:06.000Z" });
    await expect(consumer.handle(runCompleted, ctx)).resolves.toBeUndefined();
    expect(asked).toEqual([]);
    expect(lines).toContain("event superseded by a redrive: nothing to announce");
  });

  it("for a run never finished nor reopened: a permanent EVENT_NOT_VERIFIED, for the DLQ", async () => {
    const { consumer, asked } = notifierWith(run);
    const failure = await consumer.handle(runCompleted, ctx).catch((error: unknown) => error);
    expect(isPermanentError(failure)).toBe(true);
    expect(failure).toMatchObject({ code: "EVENT_NOT_VERIFIED" });
    expect(asked).toEqual([]);
  });
});
