import { describe, expect, it } from "vitest";
import {
  renderAwsApiResources,
  resourceBindings,
  resourceEnvironmentKey,
  toEventPattern,
  topology,
} from "../src/index.ts";

// The SST rendering (the app's root sst.config.ts) is checked against this one in
// infra/test/wiring.test.ts.

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

describe("naming shared by devcloud, SST links and the config module", () => {
  it("names a resource's variable after its kind and logical name", () => {
    expect(resourceEnvironmentKey("QUEUE", "notifierDeliveries")).toBe("QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL");
    expect(resourceEnvironmentKey("DLQ", "summarizer")).toBe("QUIRE_DLQ_SUMMARIZER_URL");
    expect(resourceEnvironmentKey("TOPIC", "documents")).toBe("QUIRE_TOPIC_DOCUMENTS_ARN");
    expect(resourceEnvironmentKey("TABLE", "jobs")).toBe("QUIRE_TABLE_JOBS_NAME");
    expect(resourceEnvironmentKey("KEY", "secrets")).toBe("QUIRE_KEY_SECRETS_ID");
  });

  it("renders each KMS key as an alias named like the other resources, for services to use as KeyId", () => {
    expect(renderAwsApiResources(topology).keys).toEqual([
      { logical: "secrets", aliasName: "alias/quire-secrets", description: topology.keys.secrets.description },
    ]);
    expect(renderAwsApiResources(topology, "quire-staging").keys[0]!.aliasName).toBe("alias/quire-staging-secrets");
    // Declared where it is used: the notifier seals webhook signing secrets with it.
    expect(topology.services.notifier.uses.keys).toEqual(["secrets"]);
  });

  it("binds every declared resource to its SST component, link property and variable", () => {
    const bindings = resourceBindings(topology);
    expect(bindings).toContainEqual({
      kind: "QUEUE",
      logical: "summarizer",
      component: "SummarizerQueue",
      property: "url",
      environmentKey: "QUIRE_QUEUE_SUMMARIZER_URL",
    });
    expect(bindings).toContainEqual({
      kind: "DLQ",
      logical: "summarizer",
      component: "SummarizerDlq",
      property: "url",
      environmentKey: "QUIRE_DLQ_SUMMARIZER_URL",
    });
    expect(bindings).toContainEqual({
      kind: "BUS",
      logical: "events",
      component: "EventsBus",
      property: "name",
      environmentKey: "QUIRE_BUS_EVENTS_NAME",
    });
    const declared =
      Object.keys(topology.topics).length +
      2 * Object.keys(topology.queues).length +
      Object.keys(topology.buses).length +
      Object.keys(topology.tables).length +
      Object.keys(topology.buckets).length +
      Object.keys(topology.keys).length;
    expect(bindings).toContainEqual({
      kind: "KEY",
      logical: "secrets",
      component: "SecretsKey",
      property: "id",
      environmentKey: "QUIRE_KEY_SECRETS_ID",
    });
    expect(bindings).toHaveLength(declared);
  });
});
