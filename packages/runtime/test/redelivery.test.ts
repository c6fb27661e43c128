import { describe, expect, it } from "vitest";
import { z } from "zod";
import { processMessage } from "../src/consumer.ts";
import {
  DEFAULT_REDELIVERY_POLICY,
  defineConsumer,
  minimumMaxReceiveCount,
  PermanentError,
  redeliveryDelaySeconds,
  resolveRedeliveryPolicy,
  retryAfterMsOf,
} from "../src/index.ts";
import { memoryLogger } from "./support/devcloud.ts";

const policy = DEFAULT_REDELIVERY_POLICY;
const schema = z.object({ jobId: z.string() });
const body = JSON.stringify({ jobId: "job_0123456789" });
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

function failingWith(
  error: unknown,
  extra: { retryDeadline?: () => Promise<Date | undefined>; onDeadLetter?: () => Promise<void> } = {},
) {
  return defineConsumer({
    name: "test",
    schema,
    handle: async () => {
      throw error;
    },
    ...extra,
  });
}

const incoming = (over: Partial<Parameters<typeof processMessage>[1]> = {}) => ({
  body,
  messageId: "m-1",
  receiveCount: 1,
  queueName: "q",
  signal: new AbortController().signal,
  maxReceiveCount: 500,
  sentAt: T0,
  ...over,
});

describe("redelivery delay", () => {
  it("grows 2, 4, 8 … s with the receive count, jittered within the upper half, and stops at 5 minutes", () => {
    expect(redeliveryDelaySeconds(1, policy, () => 0)).toBe(1);
    expect(redeliveryDelaySeconds(1, policy, () => 1)).toBe(2);
    expect(redeliveryDelaySeconds(4, policy, () => 0)).toBe(8);
    expect(redeliveryDelaySeconds(4, policy, () => 1)).toBe(16);
    expect(redeliveryDelaySeconds(30, policy, () => 0)).toBe(150);
    expect(redeliveryDelaySeconds(30, policy, () => 1)).toBe(300);
    expect(redeliveryDelaySeconds(10_000, policy, () => 1)).toBe(300);
  });

  it("refuses a maximum delay SQS cannot set (over 12 hours)", () => {
    expect(() => resolveRedeliveryPolicy({ maxDelaySeconds: 43_201 })).toThrow(RangeError);
  });

  it("sizes maxReceiveCount so the backoff alone can use the whole age budget", () => {
    const needed = minimumMaxReceiveCount(policy);
    let elapsed = 0;
    for (let n = 1; n <= needed; n++) elapsed += redeliveryDelaySeconds(n, policy, () => 0);
    expect(elapsed).toBeGreaterThanOrEqual(policy.maxAgeSeconds);
    // 6 h of 150-300 s delays: dozens of deliveries, not five.
    expect(needed).toBeGreaterThan(70);
  });

  it("reads a retry hint from the error or its cause", () => {
    expect(retryAfterMsOf(Object.assign(new Error("open"), { retryAfterMs: 4000 }))).toBe(4000);
    expect(
      retryAfterMsOf(new Error("outer", { cause: Object.assign(new Error("inner"), { retryAfterMs: 250 }) })),
    ).toBe(250);
    expect(retryAfterMsOf(new Error("plain"))).toBeUndefined();
  });
});

describe("processMessage: a transient failure", () => {
  const { log } = memoryLogger();

  it("is retried later with a growing delay, however many deliveries it has had, while its age budget lasts", async () => {
    const { outcome } = await processMessage(
      failingWith(new Error("ThrottlingException")),
      incoming({ receiveCount: 40 }),
      log,
      {
        now: () => T0 + 60 * 60_000,
        random: () => 0,
      },
    );
    expect(outcome).toMatchObject({ status: "transient", retryAfterSeconds: 150 });
  });

  it("waits at least as long as the failure asks (a circuit breaker's next probe)", async () => {
    const error = Object.assign(new Error("circuit open"), { retryAfterMs: 45_500 });
    const { outcome } = await processMessage(failingWith(error), incoming({ receiveCount: 1 }), log, {
      now: () => T0,
      random: () => 0,
    });
    expect(outcome).toMatchObject({ status: "transient", retryAfterSeconds: 46 });
  });

  it("past the age budget, is given up as RETRY_BUDGET_EXHAUSTED with the last error, telling onDeadLetter", async () => {
    const told: string[] = [];
    const consumer = failingWith(new Error("ServiceUnavailableException"), {
      onDeadLetter: async () => void told.push("told"),
    });
    const { outcome } = await processMessage(consumer, incoming({ receiveCount: 90 }), log, {
      now: () => T0 + policy.maxAgeSeconds * 1000 + 1,
    });
    expect(outcome).toMatchObject({ status: "permanent", reason: { code: "RETRY_BUDGET_EXHAUSTED" } });
    expect((outcome as { reason: { message: string } }).reason.message).toMatch(
      /over 90 deliveries; last error: ServiceUnavailableException/,
    );
    expect(told).toEqual(["told"]);
  });

  it("past the consumer's deadline for it (a run's), is given up as DEADLINE_EXCEEDED", async () => {
    const consumer = failingWith(new Error("ThrottlingException"), {
      retryDeadline: async () => new Date(T0 + 60_000),
    });
    const { outcome } = await processMessage(consumer, incoming(), log, { now: () => T0 + 61_000 });
    expect(outcome).toMatchObject({ status: "permanent", reason: { code: "DEADLINE_EXCEEDED" } });
  });

  it("before the deadline, is retried no later than the deadline", async () => {
    const consumer = failingWith(new Error("ThrottlingException"), {
      retryDeadline: async () => new Date(T0 + 10_000),
    });
    const { outcome } = await processMessage(consumer, incoming({ receiveCount: 20 }), log, {
      now: () => T0,
      random: () => 1,
    });
    expect(outcome).toMatchObject({ status: "transient", retryAfterSeconds: 10 });
  });

  it("on the last delivery the queue allows, is given up as RETRIES_EXHAUSTED (the backstop)", async () => {
    const { outcome } = await processMessage(failingWith(new Error("boom")), incoming({ receiveCount: 500 }), log, {
      now: () => T0,
    });
    expect(outcome).toMatchObject({ status: "permanent", reason: { code: "RETRIES_EXHAUSTED" } });
  });
});

describe("processMessage: giving up", () => {
  const { log } = memoryLogger();

  it("keeps the message when onDeadLetter fails, so what it owes (Job Failed) is not lost", async () => {
    const consumer = failingWith(new PermanentError("BAD_INPUT", "no"), {
      onDeadLetter: async () => {
        throw new Error("PutEvents failed");
      },
    });
    const { outcome } = await processMessage(consumer, incoming({ receiveCount: 2 }), log, {
      now: () => T0,
      random: () => 0,
    });
    expect(outcome).toMatchObject({ status: "transient", retryAfterSeconds: 2 });
  });

  it("dead-letters anyway when onDeadLetter fails on the last delivery (SQS would move it without a reason)", async () => {
    const consumer = failingWith(new PermanentError("BAD_INPUT", "no"), {
      onDeadLetter: async () => {
        throw new Error("PutEvents failed");
      },
    });
    const { outcome } = await processMessage(consumer, incoming({ receiveCount: 500 }), log, { now: () => T0 });
    expect(outcome).toMatchObject({ status: "permanent", reason: { code: "BAD_INPUT" } });
  });
});
