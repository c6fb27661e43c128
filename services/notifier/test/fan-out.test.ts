import type { Subscription, VerifiableRun } from "@quire/notifications";
import type { Logger } from "@quire/runtime";
import { describe, expect, it } from "vitest";
import { countingNotifier, notifierContext, runCompletedEvent } from "./unit-support.ts";

/** A narrow unit: the notifier's fan-out, by the store calls it makes (the e2e notification specs run the real store). */
const run: VerifiableRun = {
  runId: "run_0123456789ABCDEFGHJKMNPQRS",
  total: 2,
  complete: 2,
  failed: 0,
  countsByClassification: {},
  startedAt: "2026-12-01T10:00:00.000Z",
  completedAt: "2026-12-01T10:00:05.000Z",
};
const runCompleted = runCompletedEvent(run, { completed: 2, failed: 0 });
const subscription = (events: string[]) =>
  ({ id: "sub_1", status: "active", events, url: "https://hooks.example.com/quire" }) as unknown as Subscription;

const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => log };
const ctx = notifierContext(log);

describe("the notifier's fan-out of an outcome", () => {
  it("no subscription wants it: the subscriptions are read and nothing is written (no event record, no delivery)", async () => {
    const { consumer, asked } = countingNotifier(run, [subscription(["job.completed"])]);
    await consumer.handle(runCompleted, ctx);
    expect(asked).toEqual(["listSubscriptions"]);
  });

  it("a subscription wants it: the event is recorded, its delivery created and queued, the event marked fanned out", async () => {
    const { consumer, asked } = countingNotifier(run, [subscription(["run.completed"])]);
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
