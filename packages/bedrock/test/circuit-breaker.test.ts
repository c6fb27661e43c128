import { describe, expect, it } from "vitest";
import {
  CircuitOpenError,
  createGovernor,
  ModelUnavailableError,
  withRetries,
  resolveRetryPolicy,
  type Governor,
  type GovernorOptions,
  type Permit,
} from "../src/index.ts";

/** A hand-moved clock and timers (no wall-clock waits). */
function clock() {
  let now = 0;
  const timers: { at: number; run: () => void; cancelled: boolean }[] = [];
  return {
    now: () => now,
    schedule(delayMs: number, run: () => void) {
      const timer = { at: now + Math.max(0, delayMs), run, cancelled: false };
      timers.push(timer);
      return {
        cancel: () => {
          timer.cancelled = true;
        },
      };
    },
    async advance(ms: number) {
      now += ms;
      for (const timer of timers.splice(0)) {
        if (timer.cancelled) continue;
        if (timer.at <= now) timer.run();
        else timers.push(timer);
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const unavailable = () =>
  Object.assign(new Error("Service unavailable"), {
    name: "ServiceUnavailableException",
    $metadata: { httpStatusCode: 503 },
  });
const throttled = () =>
  Object.assign(new Error("Too many requests"), { name: "ThrottlingException", $metadata: { httpStatusCode: 429 } });

function governorOn(time: ReturnType<typeof clock>, options: GovernorOptions = {}): Governor {
  return createGovernor({
    now: time.now,
    schedule: (ms, run) => time.schedule(ms, run),
    initialLimit: 8,
    circuit: { window: 10, threshold: 5, openMs: 5_000, maxOpenMs: 20_000 },
    ...options,
  });
}

async function failCalls(governor: Governor, count: number, error: () => Error) {
  for (let i = 0; i < count; i++) {
    await governor
      .run("m", { estimatedTokens: 1 }, async () => {
        throw error();
      })
      .catch(() => {});
  }
}

describe("the model's circuit breaker", () => {
  it("opens after 5 unavailable answers among the last 10: no capacity to receive, and calls are refused with when to retry", async () => {
    const time = clock();
    const governor = governorOn(time);
    await failCalls(governor, 4, unavailable);
    expect(governor.freeCapacity("m")).toBeGreaterThan(0);
    await failCalls(governor, 1, unavailable);

    expect(governor.stats()[0]).toMatchObject({ circuit: "open", circuitOpened: 1 });
    expect(governor.freeCapacity("m")).toBe(0);
    const refused = await governor.acquire("m", { estimatedTokens: 1 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).retryAfterMs).toBe(5_000);
  });

  it("does not count throttles: a spent quota is the AIMD's business, not an outage", async () => {
    const time = clock();
    const governor = governorOn(time);
    await failCalls(governor, 20, throttled);
    expect(governor.stats()[0]).toMatchObject({ circuit: "closed", circuitOpened: 0, throttles: 20 });
  });

  it("sends one probe when the open period ends, and closes when the model answers", async () => {
    const time = clock();
    const governor = governorOn(time);
    await failCalls(governor, 5, unavailable);
    await time.advance(5_000);

    expect(governor.freeCapacity("m")).toBe(1);
    const probe: Permit = await governor.acquire("m", { estimatedTokens: 1 });
    // While the probe is out, nobody else goes.
    expect(governor.freeCapacity("m")).toBe(0);
    await expect(governor.acquire("m", { estimatedTokens: 1 })).rejects.toBeInstanceOf(CircuitOpenError);
    probe.release({ outcome: "success", latencyMs: 100 });

    expect(governor.stats()[0]!.circuit).toBe("closed");
    expect(governor.freeCapacity("m")).toBeGreaterThan(1);
  });

  it("reopens for twice as long when the probe fails, up to the maximum", async () => {
    const time = clock();
    const governor = governorOn(time);
    await failCalls(governor, 5, unavailable);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const retryAfter = (
        (await governor.acquire("m", { estimatedTokens: 1 }).catch((e: unknown) => e)) as CircuitOpenError
      ).retryAfterMs;
      waits.push(retryAfter);
      await time.advance(retryAfter);
      await failCalls(governor, 1, unavailable);
    }
    expect(waits).toEqual([5_000, 10_000, 20_000, 20_000]);
  });

  it("refuses the calls already waiting for a slot when it opens, so their messages go back to the queue", async () => {
    const time = clock();
    const governor = governorOn(time, { initialLimit: 2, circuit: { window: 1, threshold: 1, openMs: 5_000 } });
    const first = await governor.acquire("m", { estimatedTokens: 1 });
    await governor.acquire("m", { estimatedTokens: 1 });
    const waiting = governor.acquire("m", { estimatedTokens: 1 }).catch((error: unknown) => error);
    expect(governor.stats()[0]!.waiting.bulk).toBe(1);

    first.release({ outcome: "unavailable" });

    expect(await waiting).toBeInstanceOf(CircuitOpenError);
    expect(governor.stats()[0]).toMatchObject({ circuit: "open", waiting: { interactive: 0, bulk: 0 } });
  });

  it("turns a refused call into ModelUnavailableError carrying retryAfterMs, without spending retries", async () => {
    let calls = 0;
    const refusal = new CircuitOpenError("m", 12_000);
    const failure = await withRetries(
      async () => {
        calls++;
        throw refusal;
      },
      { policy: resolveRetryPolicy(), sleep: async () => {}, random: () => 0.5 },
    ).catch((error: unknown) => error);
    expect(calls).toBe(1);
    expect(failure).toBeInstanceOf(ModelUnavailableError);
    expect((failure as ModelUnavailableError).retryAfterMs).toBe(12_000);
  });
});

describe("a restarted process", () => {
  it("starts from the limit it is given (its share of the quota) and stops doubling at the quota's ceiling", async () => {
    const time = clock();
    const governor = createGovernor({
      now: time.now,
      schedule: (ms, run) => time.schedule(ms, run),
      initialLimit: 6,
      slowStartCeiling: 12,
    });
    const limits: number[] = [];
    // Keep it saturated and let every call succeed: one round is one window of calls.
    for (let round = 0; round < 6; round++) {
      const free = governor.freeCapacity("m");
      const permits = await Promise.all(
        Array.from({ length: free }, () => governor.acquire("m", { estimatedTokens: 1 })),
      );
      for (const permit of permits) permit.release({ outcome: "success", latencyMs: 1000 });
      limits.push(governor.stats()[0]!.limit);
    }
    // Below the ceiling it grows by several a window (slow start); once past it, by about one (additive).
    expect(limits[0]! - 6).toBeGreaterThan(2);
    const past = limits.findIndex((limit) => limit >= 12);
    expect(past).toBeGreaterThanOrEqual(0);
    expect(limits[past]!).toBeLessThan(13.5);
    for (let i = past + 1; i < limits.length; i++) expect(limits[i]! - limits[i - 1]!).toBeLessThanOrEqual(1.1);
  });
});
