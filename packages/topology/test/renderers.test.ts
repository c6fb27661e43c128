import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderAwsApiResources, toEventPattern, topology } from "../src/index.ts";
import { createRecordingSst, type RecordedComponent } from "./recording-sst.ts";

/** Evaluate the real sst.config.ts with recording stand-ins for SST's globals. */
async function runSstConfig() {
  const recording = createRecordingSst();
  const globals = globalThis as Record<string, unknown>;
  globals.$config = (config: unknown) => config;
  globals.sst = recording.sst;
  // A computed specifier: sst.config.ts is type-checked against SST's own platform types
  // (see typecheck:infra), not against this package's.
  const sstConfigPath = new URL("../../../sst.config.ts", import.meta.url).href;
  const { default: config } = (await import(/* @vite-ignore */ sstConfigPath)) as {
    default: { run(): Promise<unknown>; app(input: { stage: string }): Record<string, unknown> };
  };
  await config.run();
  return { config, components: recording.components };
}

describe("sst.config.ts and devcloud render the one topology declaration", () => {
  let components: RecordedComponent[];
  const api = renderAwsApiResources(topology);
  const byKind = (kind: string) => components.filter((c) => c.kind === kind);

  beforeAll(async () => {
    ({ components } = await runSstConfig());
  });
  afterAll(() => {
    delete (globalThis as Record<string, unknown>).$config;
    delete (globalThis as Record<string, unknown>).sst;
  });

  it("every declared queue gets a work queue and its own DLQ in both renderings", () => {
    const sstQueues = byKind("Queue").map((c) => c.name).sort();
    const expected = api.queues.flatMap((q) => [`${cap(q.logical)}Queue`, `${cap(q.logical)}Dlq`]).sort();
    expect(sstQueues).toEqual(expected);
    for (const q of api.queues) {
      const work = byKind("Queue").find((c) => c.name === `${cap(q.logical)}Queue`)!;
      expect(work.args?.visibilityTimeout).toBe(`${q.attributes.VisibilityTimeout} seconds`);
      expect((work.args?.dlq as { queue: unknown; retry: number }).retry).toBe(q.maxReceiveCount);
      expect((work.args?.dlq as { queue: unknown }).queue).toBe(`arn:recorded:Queue:${cap(q.logical)}Dlq`);
    }
  });

  it("SNS subscriptions agree: same topic, queue, raw delivery and filter policy", () => {
    const sstSubscriptions = byKind("SnsTopic").flatMap((topic) =>
      topic.calls.map((call) => ({
        topic: topic.name,
        queue: call.target,
        filter: JSON.stringify(call.args?.filter),
        raw: String((call.args?.transform as { subscription: { rawMessageDelivery: boolean } }).subscription.rawMessageDelivery),
      })),
    );
    const apiSubscriptions = api.subscriptions.map((s) => ({
      topic: `${cap(logicalOf(s.topicName))}Topic`,
      queue: `arn:recorded:Queue:${cap(logicalOf(s.queueName))}Queue`,
      filter: s.attributes.FilterPolicy,
      raw: s.attributes.RawMessageDelivery,
    }));
    expect(sstSubscriptions).toEqual(apiSubscriptions);
    expect(sstSubscriptions.length).toBe(Object.keys(topology.subscriptions).length);
  });

  it("EventBridge rules agree: same bus, target queue and event pattern", () => {
    const sstRules = byKind("Bus").flatMap((bus) =>
      bus.calls.map((call) => ({
        bus: bus.name,
        queue: call.target,
        eventPattern: JSON.stringify(toEventPattern(call.args?.pattern as object)),
      })),
    );
    const apiRules = api.rules.map((r) => ({
      bus: `${cap(logicalOf(r.busName))}Bus`,
      queue: `arn:recorded:Queue:${cap(logicalOf(r.targetQueueName))}Queue`,
      eventPattern: r.eventPattern,
    }));
    expect(sstRules).toEqual(apiRules);
  });

  it("tables and buckets agree", () => {
    expect(byKind("Dynamo").map((c) => c.name)).toEqual(api.tables.map((t) => `${cap(t.logical)}Table`));
    for (const t of api.tables) {
      const table = byKind("Dynamo").find((c) => c.name === `${cap(t.logical)}Table`)!;
      const primary = table.args?.primaryIndex as { hashKey: string; rangeKey?: string };
      expect([primary.hashKey, primary.rangeKey].filter(Boolean)).toEqual(t.keySchema.map((k) => k.AttributeName));
      expect(table.args?.ttl).toBe(t.ttlAttribute);
    }
    expect(byKind("Bucket").map((c) => c.name)).toEqual(api.buckets.map((b) => `${cap(b.logical)}Bucket`));
  });

  it("creates nothing that the declaration does not name", () => {
    const declared =
      Object.keys(topology.topics).length +
      Object.keys(topology.queues).length * 2 +
      Object.keys(topology.buses).length +
      Object.keys(topology.tables).length +
      Object.keys(topology.buckets).length;
    expect(components.length).toBe(declared);
  });
});

describe("AWS API rendering", () => {
  it("names resources <app>-<kebab-case logical name>", () => {
    const api = renderAwsApiResources(topology);
    expect(api.queues.map((q) => q.name)).toContain("quire-summarizer");
    expect(api.queues.find((q) => q.name === "quire-summarizer")!.dlqName).toBe("quire-summarizer-dlq");
    expect(api.rules.map((r) => r.name)).toContain("quire-notifier-job-events");
  });

  it("turns the SST-shaped rule pattern into an EventBridge pattern with detail-type", () => {
    expect(toEventPattern({ source: ["a"], detailType: ["Job Completed"], detail: { x: [1] } })).toEqual({
      source: ["a"],
      "detail-type": ["Job Completed"],
      detail: { x: [1] },
    });
  });
});

function cap(s: string) {
  return s[0]!.toUpperCase() + s.slice(1);
}
/** `quire-summarizer` → `summarizer`, `quire-job-events` → `jobEvents`. */
function logicalOf(physical: string) {
  return physical.replace(/^quire-/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
