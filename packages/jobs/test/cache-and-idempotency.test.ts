import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobStore, ResultCacheKey } from "../src/index.ts";
import {
  classification,
  manualClock,
  newJobId,
  sha256,
  startTestCloud,
  summary,
  type TestCloud,
} from "./support/store.ts";

let cloud: TestCloud;
let store: JobStore;

beforeAll(async () => {
  cloud = await startTestCloud();
  store = cloud.store();
});
afterAll(() => cloud?.stop());

const cacheKey = (overrides: Partial<ResultCacheKey> = {}): ResultCacheKey => ({
  contentSha256: sha256(`text ${Math.random()}`),
  stage: "summary",
  promptVersion: "summary-v1",
  modelId: "model-a",
  ...overrides,
});

describe("result cache", () => {
  it("returns a stored result for the same content, stage, prompt version and model", async () => {
    const key = cacheKey();
    await store.putCachedResult(key, summary("cached"));
    expect(await store.getCachedResult(key)).toEqual(summary("cached"));

    const classKey = cacheKey({ stage: "classification", promptVersion: "classification-v1" });
    await store.putCachedResult(classKey, classification("letter", 0.5));
    expect(await store.getCachedResult(classKey)).toEqual(classification("letter", 0.5));
  });

  it("misses when any part of the key differs", async () => {
    const key = cacheKey();
    await store.putCachedResult(key, summary());
    for (const other of [
      { ...key, contentSha256: sha256("other") },
      { ...key, stage: "classification" as const },
      { ...key, promptVersion: "summary-v2" },
      { ...key, modelId: "model-b" },
    ]) {
      expect(await store.getCachedResult(other)).toBeUndefined();
    }
  });

  it("misses once the entry expired, although dynalite never deletes it", async () => {
    const clock = manualClock();
    const expiring = cloud.store({ now: clock.now, resultCacheTtlSeconds: 60 });
    const key = cacheKey();
    await expiring.putCachedResult(key, summary());
    clock.advance(59_000);
    expect(await expiring.getCachedResult(key)).toBeDefined();
    clock.advance(2_000);
    expect(await expiring.getCachedResult(key)).toBeUndefined();
  });
});

describe("claiming a result's computation", () => {
  it("of concurrent claims on one key exactly one wins, and the losers learn which job holds it", async () => {
    const key = cacheKey();
    const jobIds = Array.from({ length: 10 }, () => newJobId());
    const claims = await Promise.all(jobIds.map((jobId) => store.claimComputation(key, { jobId, leaseMs: 60_000 })));
    const winners = jobIds.filter((_, i) => claims[i]!.claimed);
    expect(winners).toHaveLength(1);
    for (const claim of claims) if (!claim.claimed) expect(claim.heldBy).toBe(winners[0]);
  });

  it("cannot be claimed once the result is stored — the refusal answers the result — and the claim never reads as a cached result", async () => {
    const key = cacheKey();
    const jobId = newJobId();
    expect(await store.claimComputation(key, { jobId, leaseMs: 60_000 })).toEqual({ claimed: true });
    expect(await store.getCachedResult(key)).toBeUndefined();
    await store.putCachedResult(key, summary("done"));
    expect(await store.claimComputation(key, { jobId: newJobId(), leaseMs: 60_000 })).toEqual({
      claimed: false,
      heldBy: undefined,
      result: summary("done"),
    });
  });

  it("is the cache lookup too: one PutItem answers a miss (claimed), a hit (the result) and a live claim (its holder)", async () => {
    const { store: counted, calls } = cloud.countingStore();
    const key = cacheKey();
    const holder = newJobId();
    expect(await counted.claimComputation(key, { jobId: holder, leaseMs: 60_000 })).toEqual({ claimed: true });
    expect(await counted.claimComputation(key, { jobId: newJobId(), leaseMs: 60_000 })).toEqual({
      claimed: false,
      heldBy: holder,
    });
    await store.putCachedResult(key, summary("cached"));
    expect(await counted.claimComputation(key, { jobId: newJobId(), leaseMs: 60_000 })).toMatchObject({
      claimed: false,
      result: summary("cached"),
    });
    // The refusals carried the item (ReturnValuesOnConditionCheckFailure): no read after them.
    expect(calls()).toEqual({ PutItemCommand: 3 });
  });

  it("an expired result is a miss: the claim takes its place", async () => {
    const clock = manualClock();
    const timed = cloud.store({ now: clock.now });
    const key = cacheKey();
    await timed.putCachedResult(key, summary("old"));
    expect(await timed.claimComputation(key, { jobId: newJobId(), leaseMs: 60_000 })).toMatchObject({
      result: summary("old"),
    });
    clock.advance(400 * 24 * 3600 * 1000);
    expect(await timed.claimComputation(key, { jobId: newJobId(), leaseMs: 60_000 })).toEqual({ claimed: true });
  });

  it("a claim holds for its whole lease, also across a second boundary", async () => {
    const clock = manualClock(new Date("2030-01-01T00:00:00.999Z"));
    const timed = cloud.store({ now: clock.now });
    const key = cacheKey();
    await timed.claimComputation(key, { jobId: newJobId(), leaseMs: 600 });
    clock.advance(599);
    expect((await timed.claimComputation(key, { jobId: newJobId(), leaseMs: 600 })).claimed).toBe(false);
    clock.advance(2);
    expect((await timed.claimComputation(key, { jobId: newJobId(), leaseMs: 600 })).claimed).toBe(true);
  });

  it("a released claim, or one whose lease ran out, can be claimed again", async () => {
    const clock = manualClock();
    const timed = cloud.store({ now: clock.now });
    const key = cacheKey();
    const first = newJobId();
    await timed.claimComputation(key, { jobId: first, leaseMs: 10_000 });
    await timed.releaseComputation(key, first);
    const second = newJobId();
    expect((await timed.claimComputation(key, { jobId: second, leaseMs: 10_000 })).claimed).toBe(true);
    expect((await timed.claimComputation(key, { jobId: newJobId(), leaseMs: 10_000 })).claimed).toBe(false);
    clock.advance(10_001);
    expect((await timed.claimComputation(key, { jobId: newJobId(), leaseMs: 10_000 })).claimed).toBe(true);
  });
});

describe("idempotency keys", () => {
  it("claims a key once: of concurrent claims one wins and all learn the owning jobId", async () => {
    const key = `request-${Math.random()}`;
    const contenders = Array.from({ length: 10 }, () => newJobId());
    const claims = await Promise.all(contenders.map((jobId) => store.claimIdempotencyKey(key, jobId)));
    const winners = claims.filter((c) => c.claimed);
    expect(winners).toHaveLength(1);
    expect(new Set(claims.map((c) => c.jobId))).toEqual(new Set([winners[0]!.jobId]));
    expect(contenders).toContain(winners[0]!.jobId);

    expect(await store.claimIdempotencyKey(key, newJobId())).toMatchObject({
      jobId: winners[0]!.jobId,
      claimed: false,
    });
  });

  it("stores the request's fingerprint with the claim and tells a later claim the owner's", async () => {
    const key = `request-${Math.random()}`;
    const owner = newJobId();
    expect(await store.claimIdempotencyKey(key, owner, { requestHash: "hash-a" })).toEqual({
      jobId: owner,
      claimed: true,
    });
    expect(await store.claimIdempotencyKey(key, newJobId(), { requestHash: "hash-b" })).toEqual({
      jobId: owner,
      claimed: false,
      requestHash: "hash-a",
      claimedAt: expect.any(String),
    });
    // The owner repeating its own claim still owns it.
    expect(await store.claimIdempotencyKey(key, owner, { requestHash: "hash-a" })).toEqual({
      jobId: owner,
      claimed: true,
    });
  });

  it("releases a key only for the job that owns it, after which it can be claimed again", async () => {
    const key = `request-${Math.random()}`;
    const owner = newJobId();
    await store.claimIdempotencyKey(key, owner);
    expect(await store.releaseIdempotencyKey(key, newJobId())).toBe(false);
    expect(await store.claimIdempotencyKey(key, newJobId())).toMatchObject({ jobId: owner, claimed: false });
    expect(await store.releaseIdempotencyKey(key, owner)).toBe(true);
    expect(await store.releaseIdempotencyKey(key, owner)).toBe(false);
    const next = newJobId();
    expect(await store.claimIdempotencyKey(key, next)).toEqual({ jobId: next, claimed: true });
  });

  it("lets an expired key be claimed again", async () => {
    const clock = manualClock();
    const expiring = cloud.store({ now: clock.now, idempotencyTtlSeconds: 60 });
    const key = `request-${Math.random()}`;
    const first = newJobId();
    await expiring.claimIdempotencyKey(key, first);
    clock.advance(30_000);
    expect(await expiring.claimIdempotencyKey(key, newJobId())).toMatchObject({ jobId: first, claimed: false });
    clock.advance(31_000);
    const second = newJobId();
    expect(await expiring.claimIdempotencyKey(key, second)).toEqual({ jobId: second, claimed: true });
  });
});
