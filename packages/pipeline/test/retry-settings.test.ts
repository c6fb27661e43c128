import { loadConfig } from "@quire/config";
import { minimumMaxReceiveCount } from "@quire/runtime";
import { resourceBindings, topology } from "@quire/topology";
import { describe, expect, it } from "vitest";
import { governorSettings, redeliveryPolicyOf } from "../src/index.ts";

/** Resource names as devcloud would print them; only their presence matters here. */
const resources = Object.fromEntries(
  resourceBindings(topology).map((binding) => [binding.environmentKey, `${binding.environmentKey.toLowerCase()}-x`]),
);

describe("retry settings derived from config", () => {
  it("every work queue's maxReceiveCount lets the default backoff use the whole age budget before SQS's redrive steps in", () => {
    const policy = redeliveryPolicyOf(loadConfig(resources));
    expect(policy).toEqual({ baseDelaySeconds: 2, maxDelaySeconds: 300, maxAgeSeconds: 6 * 60 * 60 });
    for (const [name, queue] of Object.entries(topology.queues)) {
      expect(queue.maxReceiveCount, name).toBeGreaterThanOrEqual(minimumMaxReceiveCount(policy));
    }
  });

  it("a stage process's governor starts at its share of what the quota sustains, and slow start ends at the whole quota", () => {
    // 240 RPM × 1.2 s = 4.8 calls in flight for the whole quota; two stages share the model.
    const config = loadConfig({ ...resources, QUIRE_BEDROCK_RPM: "240", QUIRE_BEDROCK_LATENCY_MS: "1200" });
    expect(governorSettings(config)).toMatchObject({
      initialLimit: 2,
      slowStartCeiling: 6,
      circuit: { openMs: 5000, maxOpenMs: 60000 },
    });
  });

  it("sharing a known quota (QUIRE_QUOTA_SHARE=dynamodb, the default), a pacer spends the process's share within the quota's window from one request, with a 1 s burst; off keeps the whole quota's buckets", () => {
    const shared = loadConfig({
      ...resources,
      QUIRE_BEDROCK_RPM: "400",
      QUIRE_BEDROCK_LATENCY_MS: "8000",
    });
    expect(governorSettings(shared)).toMatchObject({
      burstSeconds: 1,
      startBurstSeconds: 0,
      expectedLatencyMs: 8000,
      quotaWindowMs: 60_000,
    });
    const off = loadConfig({ ...resources, QUIRE_BEDROCK_RPM: "400", QUIRE_QUOTA_SHARE: "off" });
    expect(governorSettings(off).burstSeconds).toBeUndefined();
    expect(governorSettings(off).startBurstSeconds).toBeUndefined();
    // No quota, nothing to share.
    expect(governorSettings(loadConfig(resources)).burstSeconds).toBeUndefined();
  });

  it("without a quota it starts small and slow-starts without a ceiling; an explicit initial limit wins", () => {
    expect(governorSettings(loadConfig(resources))).toMatchObject({ initialLimit: 4 });
    expect(governorSettings(loadConfig(resources)).slowStartCeiling).toBeUndefined();
    expect(
      governorSettings(loadConfig({ ...resources, QUIRE_BEDROCK_RPM: "240", QUIRE_GOVERNOR_INITIAL_LIMIT: "9" }))
        .initialLimit,
    ).toBe(9);
  });
});
