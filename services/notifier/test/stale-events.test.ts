import type { VerifiableRun } from "@quire/notifications";
import { isPermanentError, type Logger } from "@quire/runtime";
import { describe, expect, it } from "vitest";
import { countingNotifier, notifierContext, runCompletedEvent } from "./unit-support.ts";

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

const lines: string[] = [];
const log: Logger = {
  debug: () => {},
  info: (msg) => lines.push(msg),
  warn: (msg) => lines.push(msg),
  error: (msg) => lines.push(msg),
  child: () => log,
};
const ctx = notifierContext(log);
const runCompleted = runCompletedEvent(run, { completed: 0, failed: 2 });

describe("a Run Completed the store no longer holds", () => {
  it("superseded by a redrive (the run was opened again): acknowledged, nothing announced, nothing dead-lettered", async () => {
    const { consumer, asked } = countingNotifier({ ...run, reopenedAt: "2026-12-01T10:00:06.000Z" });
    await expect(consumer.handle(runCompleted, ctx)).resolves.toBeUndefined();
    expect(asked).toEqual([]);
    expect(lines).toContain("event superseded by a redrive: nothing to announce");
  });

  it("for a run never finished nor reopened: a permanent EVENT_NOT_VERIFIED, for the DLQ", async () => {
    const { consumer, asked } = countingNotifier(run);
    const failure = await consumer.handle(runCompleted, ctx).catch((error: unknown) => error);
    expect(isPermanentError(failure)).toBe(true);
    expect(failure).toMatchObject({ code: "EVENT_NOT_VERIFIED" });
    expect(asked).toEqual([]);
  });
});
