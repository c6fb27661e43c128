import { describe, expect, it } from "vitest";
import {
  createGovernor,
  eventSourceMaximumConcurrency,
  feasibleWithin,
  planThroughput,
  TokenBucket,
  type Governor,
  type GovernorOptions,
  type Permit,
} from "../src/index.ts";
import { virtualTime } from "./virtual-time.ts";

function governorOn(time: ReturnType<typeof virtualTime>, options: GovernorOptions = {}): Governor {
  return createGovernor({ now: time.now, schedule: (ms, run) => time.schedule(ms, run), ...options });
}

describe("admission", () => {
  it("admits up to the in-flight limit, then queues; a release admits the next", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 2 });
    const granted: Permit[] = [];
    for (let i = 0; i < 3; i++) void governor.acquire("m", { estimatedTokens: 10 }).then((p) => granted.push(p));
    await time.advanceTo(0);
    expect(granted).toHaveLength(2);
    expect(governor.stats()[0]).toMatchObject({ inFlight: 2, waiting: { bulk: 1, interactive: 0 } });
    granted[0]!.release({ outcome: "error" });
    await time.advanceTo(0);
    expect(granted).toHaveLength(3);
  });

  it("an aborted waiter leaves the queue and rejects with the signal's reason", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 1 });
    await governor.acquire("m", { estimatedTokens: 1 });
    const controller = new AbortController();
    const waiting = governor.acquire("m", { estimatedTokens: 1, signal: controller.signal });
    controller.abort(new Error("shutting down"));
    await expect(waiting).rejects.toThrow("shutting down");
    expect(governor.stats()[0]!.waiting.bulk).toBe(0);
  });

  it("interactive waiters go first, but bulk gets one grant per interactiveBurst of them", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 1, interactiveBurst: 2 });
    const first = await governor.acquire("m", { estimatedTokens: 1 });
    const order: string[] = [];
    const take = (name: string, lane: "interactive" | "bulk") =>
      governor.acquire("m", { estimatedTokens: 1, lane }).then((permit) => {
        order.push(name);
        permit.release({ outcome: "error" });
      });
    const all = [
      take("b1", "bulk"),
      take("b2", "bulk"),
      take("i1", "interactive"),
      take("i2", "interactive"),
      take("i3", "interactive"),
    ];
    first.release({ outcome: "error" });
    await Promise.all(all);
    expect(order).toEqual(["i1", "i2", "b1", "i3", "b2"]);
  });
});

describe("quota buckets", () => {
  it("never admits more requests in any minute than the RPM quota (plus its burst), sustaining the rate", async () => {
    const time = virtualTime();
    const governor = governorOn(time, {
      quotas: { m: { requestsPerMinute: 60 } },
      initialLimit: 1000,
      burstSeconds: 10,
    });
    const grants: number[] = [];
    const loop = async () => {
      for (;;) {
        const permit = await governor.acquire("m", { estimatedTokens: 1 });
        grants.push(time.now());
        time.schedule(100, () => permit.release({ outcome: "error" }));
        if (time.now() > 300_000) return;
      }
    };
    for (let i = 0; i < 20; i++) void loop();
    await time.advanceTo(300_000);
    for (let start = 0; start + 60_000 <= 300_000; start += 5_000) {
      expect(grants.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(60 + 10);
    }
    const lastFourMinutes = grants.filter((t) => t >= 60_000 && t < 300_000).length;
    expect(lastFourMinutes).toBeGreaterThanOrEqual(238);
  });

  it("charges estimated tokens, takes the actual usage's difference as debt, and still admits a request bigger than the bucket", async () => {
    const time = virtualTime();
    const bucket = new TokenBucket(600, 100, time.now);
    bucket.take(80);
    expect(bucket.available()).toBeCloseTo(20);
    bucket.adjust(80 - 150);
    expect(bucket.available()).toBeCloseTo(-50);
    expect(bucket.msUntil(10)).toBe(6000);
    expect(bucket.charge(5000)).toBe(100);

    const governor = governorOn(time, { quotas: { m: { tokensPerMinute: 600 } }, initialLimit: 10, burstSeconds: 10 });
    const huge = await governor.acquire("m", { estimatedTokens: 5000 });
    huge.release({ outcome: "success", usage: { inputTokens: 50, outputTokens: 10 } });
    expect(governor.stats()[0]!.tokensUsed).toBe(60);
  });
});

describe("AIMD", () => {
  it("a throttle shrinks the limit by the factor; a burst of throttles in one window shrinks it once", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 10, decreaseFactor: 0.5 });
    const permits = await Promise.all(Array.from({ length: 4 }, () => governor.acquire("m", { estimatedTokens: 1 })));
    for (const permit of permits) permit.release({ outcome: "throttled" });
    expect(governor.stats()[0]!.limit).toBe(5);
    await time.advanceTo(1000);
    (await governor.acquire("m", { estimatedTokens: 1 })).release({ outcome: "throttled" });
    expect(governor.stats()[0]!.limit).toBe(2.5);
  });

  it("grows by one per success until the first throttle (slow start), then by about one per window", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 2, decreaseFactor: 0.5 });
    const window = async () => {
      const n = Math.floor(governor.stats()[0]?.limit ?? 2);
      const permits = await Promise.all(Array.from({ length: n }, () => governor.acquire("m", { estimatedTokens: 1 })));
      for (const permit of permits) permit.release({ outcome: "success" });
    };
    await window();
    await window();
    // 2 → 3 → 5: each success while at least half the limit is in use adds one.
    expect(governor.stats()[0]!.limit).toBe(5);
    (await governor.acquire("m", { estimatedTokens: 1 })).release({ outcome: "throttled" });
    expect(governor.stats()[0]!.limit).toBe(2.5);
    await window();
    // Additive now: 2.5 + 1/2.5 + 1/2.9.
    expect(governor.stats()[0]!.limit).toBeCloseTo(3.24, 2);
  });

  it("never leaves [minLimit, maxLimit]", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 2, maxLimit: 3, minLimit: 2, decreaseFactor: 0.1 });
    for (let round = 0; round < 20; round++) {
      const permits = await Promise.all(Array.from({ length: 2 }, () => governor.acquire("m", { estimatedTokens: 1 })));
      for (const permit of permits) permit.release({ outcome: "success" });
    }
    expect(governor.stats()[0]!.limit).toBe(3);
    (await governor.acquire("m", { estimatedTokens: 1 })).release({ outcome: "throttled" });
    expect(governor.stats()[0]!.limit).toBe(2);
  });

  it("does not grow a limit nobody uses", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 8 });
    for (let i = 0; i < 50; i++) (await governor.acquire("m", { estimatedTokens: 1 })).release({ outcome: "success" });
    expect(governor.stats()[0]!.limit).toBe(8);
  });

  it("several processes sharing one quota converge near it, with few throttles and fair shares", async () => {
    // The real Bedrock: 120 requests a minute (burst of 10 s), 8 s ± 2 s per call. Ideal: 2 calls/s, 16 in flight.
    const time = virtualTime();
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const server = new TokenBucket(120, 20, time.now);
    const processes = [0, 1, 2].map(() => ({
      // Each process thinks it has the whole quota, and more: wrong on purpose.
      governor: governorOn(time, { quotas: { m: { requestsPerMinute: 1200 } }, initialLimit: 4 }),
      succeeded: [] as number[],
      throttled: 0,
    }));
    const END = 30 * 60_000;
    const worker = async (process: (typeof processes)[number]) => {
      while (time.now() < END) {
        const permit = await process.governor.acquire("m", { estimatedTokens: 100 });
        if (server.canTake(1)) {
          server.take(1);
          const latency = 6000 + 4000 * random();
          await time.sleep(latency);
          permit.release({ outcome: "success", latencyMs: latency });
          process.succeeded.push(time.now());
        } else {
          await time.sleep(50);
          permit.release({ outcome: "throttled", latencyMs: 50 });
          process.throttled++;
          await time.sleep(100 + 200 * random());
        }
      }
    };
    for (const process of processes) for (let i = 0; i < 64; i++) void worker(process);
    await time.advanceTo(END + 10_000);

    const after = (p: (typeof processes)[number]) => p.succeeded.filter((t) => t > 5 * 60_000 && t <= END).length;
    const achieved = processes.reduce((sum, p) => sum + after(p), 0) / 25; // calls per minute over the last 25 minutes
    const throttles = processes.reduce((sum, p) => sum + p.throttled, 0);
    const calls = processes.reduce((sum, p) => sum + p.succeeded.length, 0) + throttles;
    expect(achieved).toBeGreaterThanOrEqual(0.9 * 120);
    // Measured: 120/min achieved (100% of the quota), shares 935/1005/1064, and 29% of calls
    // throttled — immediate 429s that cost no model time, the price of at most one decrease per
    // latency window (decreasing faster collapsed the real pipeline's throughput in the bench).
    expect(throttles / calls).toBeLessThan(0.35);
    for (const process of processes) expect(after(process) / (achieved * 25)).toBeGreaterThan(0.2);
  });
});

describe("run, capacity", () => {
  it("run() reads Converse usage and reports a ThrottlingException as a throttle before rethrowing it", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 10, decreaseFactor: 0.5 });
    await governor.run("m", { estimatedTokens: 5 }, async () => ({ usage: { inputTokens: 3, outputTokens: 4 } }));
    const throttling = Object.assign(new Error("Too many requests"), { name: "ThrottlingException" });
    await expect(governor.run("m", { estimatedTokens: 5 }, async () => Promise.reject(throttling))).rejects.toBe(
      throttling,
    );
    expect(governor.stats()[0]).toMatchObject({ successes: 1, throttles: 1, tokensUsed: 7, limit: 5 });
  });

  it("free capacity is the limit less what runs, waits or is reserved, and what the bucket can still pay", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 3, quotas: { m: { requestsPerMinute: 12 } }, burstSeconds: 10 });
    expect(governor.freeCapacity("m")).toBe(2);
    governor.reserve("m", 1);
    expect(governor.freeCapacity("m")).toBe(1);
    // The acquire redeems the reservation: still one free.
    const permit = await governor.acquire("m", { estimatedTokens: 1 });
    expect(governor.freeCapacity("m")).toBe(1);
    await governor.acquire("m", { estimatedTokens: 1 });
    expect(governor.freeCapacity("m")).toBe(0);
    permit.release({ outcome: "error" });
    expect(governor.freeCapacity("m")).toBe(0);
    await time.advanceTo(5_100);
    expect(governor.freeCapacity("m")).toBe(1);
  });

  it("a reservation nobody redeems lapses after a couple of latencies", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 2 });
    governor.reserve("m", 2);
    expect(governor.freeCapacity("m")).toBe(0);
    await time.advanceTo(2_001);
    expect(governor.freeCapacity("m")).toBe(2);
  });

  it("waitForChange wakes when a call finishes, or when the bucket refills", async () => {
    const time = virtualTime();
    const governor = governorOn(time, { initialLimit: 1, quotas: { m: { requestsPerMinute: 12 } }, burstSeconds: 5 });
    const permit = await governor.acquire("m", { estimatedTokens: 1 });
    let woke = 0;
    void governor.waitForChange("m").then(() => (woke = time.now() || -1));
    permit.release({ outcome: "error" });
    await time.advanceTo(0);
    expect(woke).toBe(-1);
    woke = 0;
    void governor.waitForChange("m").then(() => (woke = time.now()));
    await time.advanceTo(10_000);
    expect(woke).toBe(5000);
  });
});

describe("planning (Little's law)", () => {
  it("10,000 documents × 2 calls at 400 RPM and 8 s: 54 in flight, about 50 minutes, RPM-bound", () => {
    const plan = planThroughput({
      documents: 10_000,
      callsPerDocument: 2,
      meanLatencySeconds: 8,
      meanTokensPerCall: 1500,
      quota: { requestsPerMinute: 400, tokensPerMinute: 2_000_000 },
    });
    expect(plan).toMatchObject({ callsPerMinute: 400, concurrency: 54, bindingConstraint: "rpm" });
    expect(plan.expectedSeconds).toBeCloseTo(3008, 0);
    expect(feasibleWithin(plan, 3600)).toBe(true);
    expect(feasibleWithin(plan, 1800)).toBe(false);
  });

  it("a Lambda stage's event source gets its share of the quota's calls in flight, with 20% headroom: 400 RPM, 8 s, two stages → 32 each", () => {
    expect(eventSourceMaximumConcurrency({ requestsPerMinute: 400, meanLatencyMs: 8000, stagesSharingModel: 2 })).toBe(
      32,
    );
    expect(eventSourceMaximumConcurrency({ requestsPerMinute: 400, meanLatencyMs: 8000, stagesSharingModel: 1 })).toBe(
      64,
    );
    expect(eventSourceMaximumConcurrency({ requestsPerMinute: 1000, meanLatencyMs: 3000, stagesSharingModel: 2 })).toBe(
      30,
    );
  });

  it("never asks an event source for less than AWS's minimum maximum concurrency of 2", () => {
    expect(eventSourceMaximumConcurrency({ requestsPerMinute: 6, meanLatencyMs: 1000, stagesSharingModel: 2 })).toBe(2);
  });

  it("the tighter of the quotas binds; a concurrency cap can bind too", () => {
    expect(
      planThroughput({
        documents: 100,
        callsPerDocument: 2,
        meanLatencySeconds: 8,
        meanTokensPerCall: 2000,
        quota: { requestsPerMinute: 400, tokensPerMinute: 200_000 },
      }),
    ).toMatchObject({ callsPerMinute: 100, bindingConstraint: "tpm" });
    expect(
      planThroughput({
        documents: 100,
        callsPerDocument: 2,
        meanLatencySeconds: 8,
        meanTokensPerCall: 10,
        quota: { requestsPerMinute: 400 },
        maxConcurrency: 8,
      }),
    ).toMatchObject({ callsPerMinute: 60, bindingConstraint: "concurrency" });
  });
});
