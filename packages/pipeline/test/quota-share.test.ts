import { loadConfig } from "@quire/config";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import type { MemberReport } from "@quire/bedrock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients, quotaMembershipFor } from "../src/index.ts";

let devcloud: Devcloud;
beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
});
afterAll(() => devcloud.stop());

describe("the model's quota shared through the jobs table", () => {
  const report =
    (wants: number, extra: Partial<MemberReport> = {}) =>
    () => ({
      wants,
      scale: 1,
      scaleChangedAt: 0,
      successes: 0,
      throttles: 0,
      windowCount: 0,
      ...extra,
    });

  it("processes register as members and split the quota max-min fairly; the lowest id leads and the others see its estimate and counts; leaving gives the share back", async () => {
    const config = loadConfig({
      ...devcloud.env,
      QUIRE_BEDROCK_RPM: "400",
      QUIRE_QUOTA_SHARE: "dynamodb",
      QUIRE_QUOTA_SHARE_REFRESH_MS: "60000",
    });
    const clients = createAwsClients(devcloud.env);
    const model = `model-${Date.now()}`;
    const [a, b] = [quotaMembershipFor(config, clients)!, quotaMembershipFor(config, clients)!];
    // Before the first read: the fallback, the quota ÷ the stages sharing the model.
    expect(a.current(model, report(1)).fraction).toBe(0.5);
    expect(b.current(model, report(0.2)).fraction).toBe(0.5);
    // Three reads each (a joining member's), by hand: then max-min fair — b wants a fifth and gets
    // it; a, with a backlog (wants all), takes the rest.
    const reportA = report(1, { scale: 0.8, scaleChangedAt: 42, successes: 100, throttles: 3 });
    const reportB = report(0.2, { successes: 7, throttles: 1 });
    for (let i = 0; i < 3; i++) {
      a.current(model, reportA);
      b.current(model, reportB);
      await a.refresh(model);
      await b.refresh(model);
    }
    const viewA = a.current(model, reportA);
    const viewB = b.current(model, reportB);
    expect(viewA.fraction).toBeCloseTo(0.8);
    expect(viewB.fraction).toBeCloseTo(0.2);
    // One leads (the lower member id); the other sees its estimate of the quota, and each the other's counts.
    const [leader, follower] = viewA.leader ? [viewA, viewB] : [viewB, viewA];
    expect(leader.leader && !follower.leader).toBe(true);
    expect(follower.leaderScale).toEqual(viewA.leader ? { scale: 0.8, changedAt: 42 } : { scale: 1, changedAt: 0 });
    expect(viewA.others).toEqual({ successes: 7, throttles: 1, windowCount: 0 });
    expect(viewB.others).toEqual({ successes: 100, throttles: 3, windowCount: 0 });
    // b leaves: a takes all of it at its next refresh.
    await b.stop();
    await a.refresh(model);
    await a.refresh(model);
    expect(a.current(model, reportA).fraction).toBe(1);
    await a.stop();
  });

  it("shared by default with a known quota; off, or without a quota: no membership (each process paces at the whole quota, AIMD finds its share)", () => {
    const clients = createAwsClients(devcloud.env);
    expect(quotaMembershipFor(loadConfig({ ...devcloud.env, QUIRE_BEDROCK_RPM: "400" }), clients)).toBeDefined();
    expect(quotaMembershipFor(loadConfig({ ...devcloud.env }), clients)).toBeUndefined();
    expect(
      quotaMembershipFor(loadConfig({ ...devcloud.env, QUIRE_BEDROCK_RPM: "400", QUIRE_QUOTA_SHARE: "off" }), clients),
    ).toBeUndefined();
  });
});
