import { loadConfig } from "@quire/config";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients, quotaMembershipFor } from "../src/index.ts";

let devcloud: Devcloud;
beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
});
afterAll(() => devcloud.stop());

describe("the model's quota shared through the jobs table", () => {
  it("processes register as members and split the quota by demand; leaving gives the share back", async () => {
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
    expect(a.current(model, () => 30).fraction).toBe(0.5);
    expect(b.current(model, () => 10).fraction).toBe(0.5);
    // Three reads each (a joining member's), by hand: then demand-weighted, 30 : 10.
    for (let i = 0; i < 3; i++) {
      await a.refresh(model);
      await b.refresh(model);
    }
    expect(a.current(model, () => 30).fraction).toBeCloseTo(0.75);
    expect(b.current(model, () => 10).fraction).toBeCloseTo(0.25);
    // b leaves: a takes all of it at its next refresh.
    await b.stop();
    await a.refresh(model);
    await a.refresh(model);
    expect(a.current(model, () => 30).fraction).toBe(1);
    await a.stop();
  });

  it("off (the default), or without a quota: no membership (each process paces at the whole quota, AIMD finds its share)", () => {
    const clients = createAwsClients(devcloud.env);
    expect(quotaMembershipFor(loadConfig({ ...devcloud.env }), clients)).toBeUndefined();
    expect(quotaMembershipFor(loadConfig({ ...devcloud.env, QUIRE_BEDROCK_RPM: "400" }), clients)).toBeUndefined();
  });
});
