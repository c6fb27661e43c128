import { describe, expect, it } from "vitest";
import {
  createGovernor,
  createQuotaMembership,
  fairShares,
  fixedQuotaShare,
  QuotaPacer,
  shareOf,
  TokenBucket,
  type Governor,
  type GovernorOptions,
  type QuotaMember,
  type QuotaMemberStore,
  type QuotaMembership,
} from "../src/index.ts";
import { virtualTime, type VirtualTime } from "./virtual-time.ts";

/** The members' table, in memory; `failing` makes every call reject (DynamoDB unreachable). */
function memoryStore() {
  const items = new Map<string, QuotaMember & { expiresAt: number }>();
  const store = {
    failing: false,
    calls: 0,
    async heartbeat(modelId: string, member: QuotaMember, ttlMs: number) {
      store.calls++;
      if (store.failing) throw new Error("store unreachable");
      items.set(`${modelId}/${member.memberId}`, { ...member, expiresAt: member.heartbeatAt + ttlMs });
    },
    async members(modelId: string) {
      store.calls++;
      if (store.failing) throw new Error("store unreachable");
      return [...items.entries()].filter(([key]) => key.startsWith(`${modelId}/`)).map(([, item]) => item);
    },
    async leave(modelId: string, memberId: string) {
      items.delete(`${modelId}/${memberId}`);
    },
  } satisfies QuotaMemberStore & Record<string, unknown>;
  return store;
}

/** Bedrock's quota as devcloud keeps it: at most `rpm` requests in any 60 s (a sliding log). */
function slidingQuota(time: VirtualTime, rpm: () => number) {
  const admitted: number[] = [];
  return {
    tryAdmit(): boolean {
      while (admitted.length && admitted[0]! <= time.now() - 60_000) admitted.shift();
      if (admitted.length >= rpm()) return false;
      admitted.push(time.now());
      return true;
    },
  };
}

const RPM = 400;
const REFRESH_MS = 3000;
/** What the quota sustains in flight at 8 s (Little's law): 400/min × 8 s ≈ 53.3. */
const NEED = (RPM * 8000) / 60_000;

interface Member {
  id: string;
  governor: Governor;
  membership: QuotaMembership;
  grants: number[];
  successes: number[];
  throttles: number;
  /** When each throttle came back. */
  throttledAt: number[];
  inFlightPeak: number;
  busy: boolean;
  stopped: boolean;
}

/**
 * Members sharing one model's quota, each a process with its own governor and membership,
 * consuming an endless backlog as the local runner does: it receives only what the governor can
 * start now (freeCapacity), reserves it, and each message then asks for its permit — or, with
 * `consumer: "workers"`, 64 callers that each call again as soon as the last call ended.
 * Calls take 8 s ± 2 s (seeded); a throttled message goes back to the queue.
 */
function cluster(
  time: VirtualTime,
  options: {
    members: number;
    consumer?: "runner" | "workers";
    /** What each governor is told the quota is (the real one is RPM). */
    configuredRpm?: number;
    /** The real quota left to the members, which may change midway (a foreign client taking part of it). */
    serverRpm?: () => number;
    governor?: Partial<GovernorOptions>;
    /** From a message received to its call asking for a permit (a busy host's pipeline). */
    handlerDelayMs?: () => number;
    /**
     * Another application on the same quota from a moment on: a call every 60 s / rpm, whatever the
     * answers. The server admits its calls and the members' alike, first come first served.
     */
    foreign?: { fromMs: number; rpm: number };
  },
) {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const store = memoryStore();
  const server = slidingQuota(time, options.serverRpm ?? (() => RPM));
  const members: Member[] = [];
  const join = (id: string) => {
    const membership = createQuotaMembership({
      store,
      memberId: id,
      refreshMs: REFRESH_MS,
      fallbackFraction: 1 / 2,
      now: time.now,
      schedule: (ms, run) => time.schedule(ms, run),
    });
    const governor = createGovernor({
      now: time.now,
      schedule: (ms, run) => time.schedule(ms, run),
      quotas: { m: { requestsPerMinute: options.configuredRpm ?? RPM } },
      quotaShare: membership,
      expectedLatencyMs: 8000,
      initialLimit: 4,
      burstSeconds: 1,
      // One request at first: together the members then start at the quota's rate.
      startBurstSeconds: 0,
      ...options.governor,
    });
    const member: Member = {
      id,
      governor,
      membership,
      grants: [],
      successes: [],
      throttles: 0,
      throttledAt: [],
      inFlightPeak: 0,
      busy: true,
      stopped: false,
    };
    /** One message's call: the permit, then Bedrock. Returns whether it was throttled. */
    const call = async () => {
      const permit = await governor.acquire("m", { estimatedTokens: 100 });
      // A member that left (its process ends) calls no more.
      if (member.stopped) {
        permit.release({ outcome: "error" });
        return;
      }
      member.grants.push(time.now());
      member.inFlightPeak = Math.max(member.inFlightPeak, governor.stats()[0]!.inFlight);
      if (server.tryAdmit()) {
        const latency = 6000 + 4000 * random();
        await time.sleep(latency);
        permit.release({ outcome: "success", latencyMs: latency });
        member.successes.push(time.now());
      } else {
        await time.sleep(20);
        permit.release({ outcome: "throttled", latencyMs: 20 });
        member.throttles++;
        member.throttledAt.push(time.now());
      }
    };
    if ((options.consumer ?? "runner") === "runner") {
      void (async () => {
        while (!member.stopped) {
          if (!member.busy) {
            // An idle queue: the long poll finds nothing.
            governor.reserve("m", 0);
            await time.sleep(500);
            continue;
          }
          const free = Math.min(10, governor.freeCapacity("m"));
          if (free <= 0) {
            await governor.waitForChange("m");
            continue;
          }
          // A receive's round trip, then each message reaches its handler.
          await time.sleep(20);
          governor.reserve("m", free);
          for (let i = 0; i < free; i++) void time.sleep(options.handlerDelayMs?.() ?? 5).then(call);
        }
      })();
    } else {
      const worker = async () => {
        while (!member.stopped) {
          if (!member.busy) await time.sleep(500);
          else await call();
        }
      };
      for (let i = 0; i < 64; i++) void worker();
    }
    members.push(member);
    return member;
  };
  for (let i = 0; i < options.members; i++) join(`member-${i}`);
  const foreign = { calls: 0, admitted: 0 };
  if (options.foreign) {
    const { fromMs, rpm } = options.foreign;
    const next = () => {
      foreign.calls++;
      if (server.tryAdmit()) foreign.admitted++;
      time.schedule(60_000 / rpm, next);
    };
    time.schedule(fromMs, next);
  }
  return {
    foreign,
    members,
    store,
    join,
    throttleTimes: () => members.flatMap((m) => m.throttledAt),
    async leave(member: Member) {
      member.stopped = true;
      await member.membership.stop();
    },
  };
}

/** The most grants in any 60 s window starting at or after `from` and ending by `to` (1 s steps). */
function peakPerMinute(grants: number[], from: number, to: number): number {
  let peak = 0;
  for (let start = from; start + 60_000 <= to; start += 1000)
    peak = Math.max(peak, grants.filter((t) => t >= start && t < start + 60_000).length);
  return peak;
}
const countBetween = (times: number[], from: number, to: number) => times.filter((t) => t >= from && t < to).length;

/**
 * The bench's "adapted after" (bench/src/report.ts): from the disturbance (`from`) to the start of
 * the first minute from which every minute, until `to`, answered ≥ 85 % of the quota left to the
 * members with throttles under 5 % of it (5 s steps). Infinity: not within the run.
 */
function adaptedAfter(
  successes: number[],
  throttles: number[],
  window: { from: number; to: number; available: (t: number) => number },
): number {
  let adaptedAt: number | undefined;
  for (let t = window.from + 60_000; t <= window.to; t += 5000) {
    const available = window.available(t - 60_000);
    const ok =
      countBetween(successes, t - 60_000, t) >= 0.85 * available &&
      countBetween(throttles, t - 60_000, t) <= 0.05 * available;
    if (ok) adaptedAt ??= t - 60_000;
    else adaptedAt = undefined;
  }
  return adaptedAt === undefined ? Number.POSITIVE_INFINITY : adaptedAt - window.from;
}

describe("a member's share of the quota", () => {
  it("max-min fair: who wants less than an equal split gets it, the rest split what is left, and nothing is left unshared", () => {
    expect(fairShares([1, 1, 1, 1])).toEqual([0.25, 0.25, 0.25, 0.25]);
    const [small, big, bigger] = fairShares([0.1, 1, 0.7]);
    expect(small).toBeCloseTo(0.1);
    expect(big).toBeCloseTo(0.45);
    expect(bigger).toBeCloseTo(0.45);
    // Nobody wants it all: what is left is spread evenly (the sum is always the whole quota).
    const [a, b] = fairShares([0.1, 0.3]);
    expect(a).toBeCloseTo(0.4);
    expect(b).toBeCloseTo(0.6);
  });

  it("alone: all of it; otherwise its fair share, growing only into what the others leave unclaimed", () => {
    expect(shareOf({ demand: 0.1, claimed: 0, others: [] })).toBe(1);
    const quarter = { demand: 1, fraction: 0.25 };
    expect(shareOf({ demand: 1, claimed: 0.25, others: [quarter, quarter, quarter] })).toBe(0.25);
    // An idle member's share flows to the busy ones (it claims nothing, wants nothing).
    expect(
      shareOf({
        demand: 1,
        claimed: 0.5,
        others: [
          { demand: 1, fraction: 0.5 },
          { demand: 0, fraction: 0 },
        ],
      }),
    ).toBeCloseTo(0.5);
    // Shrinking is immediate; growing waits for the others to give it up: a busy newcomer among
    // members holding everything starts at its floor, 1 ÷ (2 × members), and takes its fair
    // share once they have shrunk.
    const third = { demand: 1, fraction: 1 / 3 };
    expect(shareOf({ demand: 1, claimed: 0, others: [third, third, third] })).toBe(1 / 8);
    expect(shareOf({ demand: 1, claimed: 1 / 8, others: [quarter, quarter, quarter] })).toBe(0.25);
  });
});

/** Members' calls in flight together, sampled every 5 s from `from` to `to`. */
async function sampleInFlight(time: VirtualTime, members: Member[], from: number, to: number) {
  const samples: number[] = [];
  for (let at = from; at <= to; at += 5000) {
    await time.advanceTo(at);
    samples.push(members.reduce((sum, m) => sum + m.governor.stats()[0]!.inFlight, 0));
  }
  return samples;
}
const totalThrottles = (members: Member[]) => members.reduce((sum, m) => sum + m.throttles, 0);
/**
 * The calls in flight most of the time (the 10th percentile of the samples). A window the server
 * holds full (after an overshoot) admits nothing for a few seconds whatever the pacer does: the
 * collapse that matters is AIMD's, a limit far below the need for minutes.
 */
const mostly = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 10)]!;

describe("the quota as a shared resource (virtual time, consumers that receive only what can start)", () => {
  it("four members with a backlog spend the quota from the first second: a quarter each, every minute at the quota, almost no throttles, in flight within 1.2× the need", async () => {
    const time = virtualTime();
    const { members } = cluster(time, { members: 4 });
    const END = 12 * 60_000;
    const inFlight = await sampleInFlight(time, members, 0, END);
    for (const member of members) expect(member.governor.stats()[0]!.share).toBe(0.25);
    const all = members.flatMap((m) => m.grants);
    // No slow start and no overshoot: the first minute already runs at the quota, and no minute above it.
    expect(countBetween(all, 0, 60_000)).toBeGreaterThanOrEqual(0.98 * RPM);
    expect(peakPerMinute(all, 0, END)).toBeLessThanOrEqual(RPM * 1.02);
    // Together at the quota: what it allows in 12 minutes, less the first calls' latency.
    const successes = members.flatMap((m) => m.successes);
    expect(successes.length).toBeGreaterThanOrEqual(0.98 * RPM * (12 - 8 / 60));
    // The leader's probes of a right quota cost a handful of throttles each, and fewer as they space out.
    expect(totalThrottles(members) / successes.length).toBeLessThanOrEqual(0.01);
    expect(Math.max(...inFlight)).toBeLessThanOrEqual(1.2 * NEED);
    expect(mostly(inFlight.slice(4))).toBeGreaterThanOrEqual(0.85 * NEED);
  });

  it("a host whose pipeline takes seconds from receiving a message to calling the model still keeps the pace: the tokens wait for the messages on their way", async () => {
    const time = virtualTime();
    let seed = 3;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // 2–6 s from receive to permit: the bench's pipeline on a busy 2-core host, in its time scale.
    const { members } = cluster(time, { members: 4, handlerDelayMs: () => 2000 + 4000 * random() });
    await time.advanceTo(6 * 60_000);
    const successes = members.flatMap((m) => m.successes);
    expect(countBetween(successes, 60_000, 6 * 60_000)).toBeGreaterThanOrEqual(0.94 * RPM * 5);
    expect(totalThrottles(members) / successes.length).toBeLessThanOrEqual(0.01);
  });

  it("a process started long before its run does not probe as the run starts: the pace and the calls in flight stay at the quota's", async () => {
    const time = virtualTime();
    const { members } = cluster(time, { members: 4 });
    for (const member of members) member.busy = false;
    await time.advanceTo(10 * 60_000);
    for (const member of members) member.busy = true;
    const inFlight = await sampleInFlight(time, members, 10 * 60_000, 11 * 60_000);
    for (const member of members) expect(member.governor.stats()[0]!.scale).toBe(1);
    expect(Math.max(...inFlight)).toBeLessThanOrEqual(1.2 * NEED);
  });

  it("members joining and leaving re-balance within a refresh or two; an idle member's share flows to the busy ones", async () => {
    const time = virtualTime();
    const { members, join, leave } = cluster(time, { members: 2 });
    const [a, b] = members as [Member, Member];
    await time.advanceTo(60_000);
    expect([a, b].map((m) => m.governor.stats()[0]!.share)).toEqual([0.5, 0.5]);

    // Two more join: within two refreshes everyone holds a quarter.
    const c = join("member-2");
    const d = join("member-3");
    await time.advanceTo(60_000 + 2 * REFRESH_MS);
    for (const member of [a, b, c, d]) expect(member.governor.stats()[0]!.share).toBeCloseTo(0.25, 3);
    // A newcomer held at most its floor until the others gave up their part: no minute over the quota.
    await time.advanceTo(180_000);
    const all = () => [a, b, c, d].flatMap((m) => m.grants);
    expect(peakPerMinute(all(), 0, 180_000)).toBeLessThanOrEqual(RPM * 1.02);

    // One leaves: the three left re-balance to a third each within two refreshes.
    await leave(d);
    await time.advanceTo(180_000 + 2 * REFRESH_MS + 1000);
    for (const member of [a, b, c]) expect(member.governor.stats()[0]!.share).toBeCloseTo(1 / 3, 2);

    // One goes idle: its share flows to the two busy ones within a few refreshes of its last calls ending.
    c.busy = false;
    await time.advanceTo(240_000 + 10_000 + 8000 + 3 * REFRESH_MS);
    for (const member of [a, b]) expect(member.governor.stats()[0]!.share).toBeGreaterThan(0.45);
    await time.advanceTo(360_000);
    const throughput = countBetween(
      [a, b, c].flatMap((m) => m.successes),
      300_000,
      360_000,
    );
    expect(throughput).toBeGreaterThanOrEqual(0.95 * RPM);
    const successes = [a, b, c, d].reduce((sum, m) => sum + m.successes.length, 0);
    expect(totalThrottles([a, b, c, d]) / successes).toBeLessThan(0.01);
    for (const member of [a, b, c]) await leave(member);
  });

  it("a member whose heartbeats come late (a busy host: seconds apart at a 750 ms refresh) stays in the others' view: no share jumps", async () => {
    const time = virtualTime();
    const store = memoryStore();
    // The slow member's writes take 1.8 s to land: its heartbeats come ~2.6 s apart, beyond 3 refreshes.
    const slowStore: QuotaMemberStore = {
      heartbeat: (modelId, member, ttlMs) => time.sleep(1800).then(() => store.heartbeat(modelId, member, ttlMs)),
      members: (modelId) => store.members(modelId),
      leave: (modelId, memberId) => store.leave(modelId, memberId),
    };
    const member = (memberId: string, memberStore: QuotaMemberStore) =>
      createQuotaMembership({
        store: memberStore,
        memberId,
        refreshMs: 750,
        fallbackFraction: 1 / 2,
        now: time.now,
        schedule: (ms, run) => time.schedule(ms, run),
      });
    const busy = { wants: 1, scale: 1, scaleChangedAt: 0, successes: 0, throttles: 0, windowCount: 0 };
    const fast = member("a-fast", store);
    const slow = member("b-slow", slowStore);
    fast.current("m", () => busy);
    slow.current("m", () => busy);
    await time.advanceTo(10_000);
    const fractions = new Set<number>();
    for (let at = 10_000; at <= 70_000; at += 100) {
      await time.advanceTo(at);
      fractions.add(fast.current("m", () => busy).fraction);
    }
    expect([...fractions]).toEqual([0.5]);
    await fast.stop();
    await slow.stop();
  });

  it("an unreachable store never stops calls: the last known share, then the fallback split, each member its own leader answering throttles", async () => {
    const time = virtualTime();
    const { members, store } = cluster(time, { members: 4 });
    await time.advanceTo(60_000);
    store.failing = true;
    // Within the members' liveness (3 refreshes) the last known share holds.
    await time.advanceTo(60_000 + REFRESH_MS);
    for (const member of members) expect(member.governor.stats()[0]!.share).toBe(0.25);
    // Then each falls back to the configured split (½: two stages sharing the model), twice the
    // real share: the throttles lower each one's scale, and calls go on.
    await time.advanceTo(4 * 60_000);
    for (const member of members) expect(member.governor.stats()[0]!.share).toBe(0.5);
    const successes = members.flatMap((m) => m.successes);
    expect(countBetween(successes, 2 * 60_000, 4 * 60_000)).toBeGreaterThanOrEqual(0.85 * RPM * 2);
    // The store is back: the shares come back too, and the throttles stop.
    store.failing = false;
    await sampleInFlight(time, members, 4 * 60_000, 5 * 60_000);
    for (const member of members) expect(member.governor.stats()[0]!.share).toBe(0.25);
    const throttlesBefore = totalThrottles(members);
    await time.advanceTo(8 * 60_000);
    expect(totalThrottles(members) - throttlesBefore).toBeLessThanOrEqual(RPM * 3 * 0.01);
  });

  it("a quota configured 2× too high: one decrease to what the server admits, as soon as most calls are refused; adapted within a minute, no collapse of the calls in flight", async () => {
    const time = virtualTime();
    const { members, throttleTimes } = cluster(time, { members: 4, configuredRpm: 2 * RPM });
    await time.advanceTo(90_000);
    // The window filled at 2× in 30 s; within a minute of that the group paces near the real quota.
    for (const member of members) expect(member.governor.stats()[0]!.scale).toBeGreaterThan(0.4);
    for (const member of members) expect(member.governor.stats()[0]!.scale).toBeLessThan(0.6);
    const inFlight = await sampleInFlight(time, members, 120_000, 12 * 60_000);
    expect(mostly(inFlight)).toBeGreaterThanOrEqual(0.7 * NEED);
    const successes = members.flatMap((m) => m.successes);
    expect(countBetween(successes, 2 * 60_000, 12 * 60_000)).toBeGreaterThanOrEqual(0.85 * RPM * 10);
    expect(
      adaptedAfter(successes, throttleTimes(), { from: 0, to: 12 * 60_000, available: () => RPM }),
    ).toBeLessThanOrEqual(60_000);
  });

  it("a quota configured 2× too low: the leader's first probe, after a window busy at the pace, doubles it within a latency; every member follows, adapted within a minute", async () => {
    const time = virtualTime();
    const { members, throttleTimes } = cluster(time, { members: 4, configuredRpm: RPM / 2 });
    await time.advanceTo(12 * 60_000);
    for (const member of members) expect(member.governor.stats()[0]!.scale).toBeGreaterThanOrEqual(1.8);
    const successes = members.flatMap((m) => m.successes);
    expect(
      adaptedAfter(successes, throttleTimes(), { from: 0, to: 12 * 60_000, available: () => RPM }),
    ).toBeLessThanOrEqual(60_000);
    expect(countBetween(successes, 3 * 60_000, 12 * 60_000)).toBeGreaterThanOrEqual(0.9 * RPM * 9);
    expect(totalThrottles(members) / successes.length).toBeLessThan(0.02);
  });

  it("a foreign client takes half the quota midway: within a minute the members pace at what it leaves, the throttles stop, and it gets its half", async () => {
    const time = virtualTime();
    // Another application, 200 calls a minute whatever the answers, on the same server's window.
    const { members, throttleTimes, foreign } = cluster(time, {
      members: 4,
      foreign: { fromMs: 5 * 60_000, rpm: RPM / 2 },
    });
    await time.advanceTo(7 * 60_000);
    const throttlesAdapted = totalThrottles(members);
    const foreignBefore = foreign.admitted;
    const inFlight = await sampleInFlight(time, members, 7 * 60_000, 12 * 60_000);
    // In flight follows the rate (about half the need), not a collapse to a handful.
    expect(mostly(inFlight)).toBeGreaterThanOrEqual(0.35 * NEED);
    const successes = members.flatMap((m) => m.successes);
    const available = (t: number) => (t >= 5 * 60_000 ? RPM / 2 : RPM);
    expect(
      adaptedAfter(successes, throttleTimes(), { from: 5 * 60_000, to: 12 * 60_000, available }),
    ).toBeLessThanOrEqual(60_000);
    // Settled on the half left, not a little under it.
    expect(countBetween(successes, 7 * 60_000, 12 * 60_000)).toBeGreaterThanOrEqual(0.93 * (RPM / 2) * 5);
    // The foreign client is not crowded out: nearly all of its calls get in.
    expect(foreign.admitted - foreignBefore).toBeGreaterThanOrEqual(0.97 * (RPM / 2) * 5);
    // What steps back toward the configured quota cost while the foreign client stays.
    expect(totalThrottles(members) - throttlesAdapted).toBeLessThanOrEqual(0.03 * (RPM / 2) * 5);
  });

  it("the quota halves midway: within a minute the members pace at what is left, and the throttles stop", async () => {
    const time = virtualTime();
    const available = (t: number) => (t >= 5 * 60_000 ? RPM / 2 : RPM);
    const { members, throttleTimes } = cluster(time, { members: 4, serverRpm: () => available(time.now()) });
    await time.advanceTo(12 * 60_000);
    const successes = members.flatMap((m) => m.successes);
    expect(
      adaptedAfter(successes, throttleTimes(), { from: 5 * 60_000, to: 12 * 60_000, available }),
    ).toBeLessThanOrEqual(60_000);
    expect(countBetween(successes, 7 * 60_000, 12 * 60_000)).toBeGreaterThanOrEqual(0.9 * (RPM / 2) * 5);
  });

  it("a quota cut to 5 % for two minutes, then restored: the pace falls with it, and climbs back, doubling, within a minute and a half of the restore", async () => {
    const time = virtualTime();
    const cut = (t: number) => t >= 3 * 60_000 && t < 5 * 60_000;
    const available = (t: number) => (cut(t) ? RPM / 20 : RPM);
    const { members, throttleTimes } = cluster(time, { members: 4, serverRpm: () => available(time.now()) });
    await time.advanceTo(5 * 60_000);
    for (const member of members) expect(member.governor.stats()[0]!.scale).toBeLessThanOrEqual(0.5);
    await time.advanceTo(12 * 60_000);
    for (const member of members) expect(member.governor.stats()[0]!.scale).toBe(1);
    const successes = members.flatMap((m) => m.successes);
    expect(
      adaptedAfter(successes, throttleTimes(), { from: 5 * 60_000, to: 12 * 60_000, available }),
    ).toBeLessThanOrEqual(90_000);
  });
});

describe("one member's pacer", () => {
  it("a bucket full after idling is paid back inside the window: never more than the share of any window", () => {
    let now = 0;
    // 120/min at a quarter: 30 per minute; a 20 s burst (10 calls) banked while idle.
    const pacer = new QuotaPacer(
      { requestsPerMinute: 120, burstMs: 20_000, startBurstMs: 20_000, now: () => now },
      0.25,
    );
    const grants: number[] = [];
    for (now = 0; now < 180_000; now += 100) {
      while (pacer.canGrant()) grants.push(pacer.grant());
    }
    // The burst goes out at once, then the pace: and no window of a minute holds more than 30.
    expect(grants.filter((t) => t === 0)).toHaveLength(10);
    expect(peakPerMinute(grants, 0, 180_000)).toBeLessThanOrEqual(30);
    expect(grants.length).toBeGreaterThanOrEqual(89);
  });

  it("a burst of throttles lowers the rate once, by the fraction the server admitted; in flight follows the rate", () => {
    let now = 0;
    const pacer = new QuotaPacer({ requestsPerMinute: 600, now: () => now }, 1);
    const context = { latencyMs: 8000, leader: true, starved: true };
    expect(pacer.inFlightCap(8000)).toBe(92);
    // 20 s of calls, one in four throttled (the server admits 75 %): a decision needs throttles for a whole evaluation (two latencies).
    for (let i = 0; i < 200; i++) {
      now += 100;
      pacer.record(i % 4 === 0 ? "throttled" : "success", now, context);
    }
    expect(pacer.scale).toBeCloseTo(0.75, 1);
    const lowered = pacer.scale;
    // The throttles of the calls sent before the change do not lower it again.
    for (let i = 0; i < 20; i++) {
      now += 100;
      pacer.record(i % 4 === 0 ? "throttled" : "success", now, context);
    }
    expect(pacer.scale).toBe(lowered);
    expect(pacer.inFlightCap(8000)).toBe(Math.ceil((600 * lowered * 8 * 1.15) / 60));
  });

  it("below the configured quota a failed step back up halves the next, down to ×1.05: a pace just under what a foreign client leaves climbs to it, not past it again and again", () => {
    let now = 0;
    const pacer = new QuotaPacer({ requestsPerMinute: 600, now: () => now }, 1);
    const context = { latencyMs: 1000, leader: true, starved: true };
    // Settled a little under the half a foreign client leaves; the server throttles anything above it.
    pacer.adoptScale(0.45, now);
    const left = 0.5;
    let throttles = 0;
    for (now = 100; now < 30 * 60_000; now += 100) {
      if (pacer.scale > left) {
        throttles++;
        pacer.record("throttled", now, context);
      } else pacer.observeGroup({ successes: 0, throttles: 0, windowCount: 0 }, context);
    }
    expect(pacer.scale).toBeGreaterThan(0.47);
    expect(pacer.scale).toBeLessThanOrEqual(left);
    // Each failed step is a throttle or so, and they space out.
    expect(throttles).toBeLessThan(20);
  });

  it("a member's own throttle undoes the leader's probe at once; the leader's news of the probe, a refresh behind, are not adopted again", () => {
    let now = 0;
    const pacer = new QuotaPacer({ requestsPerMinute: 600, now: () => now }, 0.25);
    const follower = { latencyMs: 8000, leader: false, starved: true };
    // Kept at 1 for a minute; then the leader's probe reaches the member as it ramps.
    now = 60_000;
    pacer.adoptScale(1.2, now);
    now += 3000;
    pacer.adoptScale(1.4, now);
    expect(pacer.rate()).toBeCloseTo(600 * 0.25 * 1.4);
    now += 500;
    pacer.record("throttled", now - 20, follower);
    expect(pacer.scale).toBe(1);
    expect(pacer.rate()).toBeCloseTo(150);
    // The leader has not seen the throttle yet: its next refresh still says the probe goes on.
    now += 2500;
    pacer.adoptScale(1.6, now);
    expect(pacer.scale).toBe(1);
    // The leader undoes it too; its next probe, much later, is adopted.
    now += 3000;
    pacer.adoptScale(1, now);
    now += 120_000;
    pacer.adoptScale(1.1, now);
    expect(pacer.scale).toBe(1.1);
  });

  it("after a decrease, a member whose calls still mostly get in paces on at the new rate at once; one whose calls are refused waits for its old grants to age out", () => {
    /** A minute at 600/min, the last 16 s with `admitted` of the calls getting in; then the leader halves the scale. */
    const grantsAfterHalving = (admitted: number) => {
      let now = 0;
      const pacer = new QuotaPacer({ requestsPerMinute: 600, now: () => now }, 1);
      const follower = { latencyMs: 8000, leader: false, starved: true };
      let calls = 0;
      for (; now < 60_000; now += 10) {
        while (pacer.canGrant()) {
          const at = pacer.grant();
          const refused = now >= 44_000 && calls++ % 10 >= admitted * 10;
          pacer.record(refused ? "throttled" : "success", at, follower);
        }
      }
      pacer.adoptScale(0.5, now);
      let grants = 0;
      for (; now < 70_000; now += 10) {
        while (pacer.canGrant()) {
          pacer.grant();
          grants++;
        }
      }
      return grants;
    };
    // A foreign client came: 70 % still get in, the server's window flows — 10 s at 300/min.
    expect(grantsAfterHalving(0.7)).toBeGreaterThanOrEqual(45);
    // The quota fell: 20 % get in, the server's window is full of the old pace's calls.
    expect(grantsAfterHalving(0.2)).toBe(0);
  });

  it("a member whose calls are mostly refused waits for its oldest grant to age out: the server's window frees no slot before", () => {
    let now = 0;
    const pacer = new QuotaPacer({ requestsPerMinute: 600, now: () => now }, 1);
    const member = { latencyMs: 8000, leader: false, starved: true };
    // 20 s of calls that got in; later, every call is refused (the window filled meanwhile).
    for (; now < 20_000; now += 10) while (pacer.canGrant()) pacer.record("success", pacer.grant(), member);
    let refused = 0;
    for (now = 40_000; now < 45_000; now += 10) {
      while (pacer.canGrant()) {
        refused++;
        pacer.record("throttled", pacer.grant(), member);
      }
    }
    // Three refusals say it; then it waits until its first grant, at 0, has aged out (a minute and a guard).
    expect(refused).toBe(3);
    now = 60_000;
    expect(pacer.canGrant()).toBe(false);
    expect(pacer.msUntilGrant()).toBeLessThanOrEqual(1000);
    now = 61_000;
    expect(pacer.canGrant()).toBe(true);
  });

  it("throttles after a window kept without one: the scale halves when the window's count does not explain them (a foreign client came), and lands a little under the count when it does", () => {
    /** Two minutes at the pace without a throttle, then 20 s with a fifth of the calls throttled. */
    const scaleAfterThrottles = (othersWindowCount: number) => {
      let now = 0;
      const pacer = new QuotaPacer({ requestsPerMinute: 600, now: () => now }, 0.25);
      const leader = { latencyMs: 8000, leader: true, starved: false };
      let calls = 0;
      for (; now < 140_000; now += 10) {
        pacer.observeGroup({ successes: 0, throttles: 0, windowCount: othersWindowCount }, leader);
        while (pacer.canGrant()) {
          const at = pacer.grant();
          const throttled = now >= 120_000 && calls++ % 5 === 0;
          pacer.record(throttled ? "throttled" : "success", at, leader);
        }
      }
      return pacer.scale;
    };
    // The others' windows full (3 × 150): the group admitted ~its whole quota; the throttled share is the news.
    expect(scaleAfterThrottles(450)).toBe(0.5);
    // The others admitted far less (a lower quota, in their windows): ~150 + 270 of 600, a little under.
    expect(scaleAfterThrottles(270)).toBeCloseTo(((150 - 8 + 270) / 600) * 0.97, 1);
  });

  it("the interactive lane still goes first while a bulk run holds the member's share", async () => {
    const time = virtualTime();
    const governor = createGovernor({
      now: time.now,
      schedule: (ms, run) => time.schedule(ms, run),
      quotas: { m: { requestsPerMinute: 240 } },
      quotaShare: fixedQuotaShare(0.25),
      expectedLatencyMs: 8000,
      burstSeconds: 2,
      startBurstSeconds: 1,
      interactiveBurst: 4,
    });
    const order: string[] = [];
    const take = (name: string, lane: "interactive" | "bulk") =>
      governor.acquire("m", { estimatedTokens: 1, lane }).then((permit) => {
        order.push(name);
        time.schedule(8000, () => permit.release({ outcome: "success", latencyMs: 8000 }));
      });
    // A bulk backlog first, then three interactive requests: the share's bucket (60/min) paces both lanes.
    const bulk = Array.from({ length: 20 }, (_, i) => take(`b${i}`, "bulk"));
    await time.advanceTo(0);
    const interactive = Array.from({ length: 3 }, (_, i) => take(`i${i}`, "interactive"));
    await time.advanceTo(5000);
    await Promise.all(interactive);
    // Each interactive request waited only for the next token (one a second), ahead of the bulk backlog.
    const firstInteractive = order.indexOf("i0");
    expect(order.slice(firstInteractive, firstInteractive + 3)).toEqual(["i0", "i1", "i2"]);
    expect(order.filter((name) => name.startsWith("b")).length).toBeLessThan(5);
    void bulk;
  });

  it("token buckets re-rate without creating or losing tokens", () => {
    const time = virtualTime();
    let now = 0;
    const bucket = new TokenBucket(600, 100, () => now, 10);
    expect(bucket.available()).toBe(10);
    now = 1000; // +10 at 600/min
    bucket.setRate(60, 100);
    expect(bucket.available()).toBeCloseTo(20);
    now = 2000; // +1 at 60/min
    expect(bucket.available()).toBeCloseTo(21);
    // A smaller burst cuts off only what no longer fits.
    bucket.setRate(60, 5);
    expect(bucket.available()).toBeCloseTo(5);
    void time;
  });
});
