import { describe, expect, it } from "vitest";
import { ConfigError, environmentFromLinks, loadConfig, unlinked } from "../src/index.ts";

const devcloudEnv = {
  QUIRE_TOPIC_DOCUMENTS_ARN: "arn:aws:sns:us-east-1:000000000000:quire-documents",
  QUIRE_QUEUE_INGESTION_URL: "q1",
  QUIRE_QUEUE_SUMMARIZER_URL: "q2",
  QUIRE_QUEUE_CLASSIFIER_URL: "q3",
  QUIRE_QUEUE_NOTIFIER_URL: "q4",
  QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL: "q5",
  QUIRE_QUEUE_SUMMARIZER_INTERACTIVE_URL: "q6",
  QUIRE_QUEUE_CLASSIFIER_INTERACTIVE_URL: "q7",
  QUIRE_QUEUE_BATCHER_URL: "q8",
  QUIRE_QUEUE_RUN_MANIFESTS_URL: "q9",
  QUIRE_DLQ_INGESTION_URL: "d1",
  QUIRE_DLQ_SUMMARIZER_URL: "d2",
  QUIRE_DLQ_CLASSIFIER_URL: "d3",
  QUIRE_DLQ_NOTIFIER_URL: "d4",
  QUIRE_DLQ_NOTIFIER_DELIVERIES_URL: "d5",
  QUIRE_DLQ_SUMMARIZER_INTERACTIVE_URL: "d6",
  QUIRE_DLQ_CLASSIFIER_INTERACTIVE_URL: "d7",
  QUIRE_DLQ_BATCHER_URL: "d8",
  QUIRE_DLQ_RUN_MANIFESTS_URL: "d9",
  QUIRE_BUS_EVENTS_NAME: "quire-events",
  QUIRE_TABLE_JOBS_NAME: "quire-jobs",
  QUIRE_TABLE_NOTIFICATIONS_NAME: "quire-notifications",
  QUIRE_TABLE_API_KEYS_NAME: "quire-api-keys",
  QUIRE_BUCKET_DOCUMENTS_NAME: "quire-documents",
  QUIRE_KEY_SECRETS_ID: "alias/quire-secrets",
};

describe("loadConfig", () => {
  it("fills defaults around the resource names devcloud prints", () => {
    const config = loadConfig(devcloudEnv);
    expect(config.QUIRE_API_PORT).toBe(3000);
    expect(config.QUIRE_MAX_DOCUMENT_BYTES).toBe(10 * 1024 * 1024);
    expect(config.QUIRE_TAXONOMY).toEqual(["contract", "court-filing", "correspondence", "invoice", "policy", "other"]);
  });

  it("names every missing variable at once", () => {
    const { QUIRE_BUS_EVENTS_NAME: _bus, QUIRE_TABLE_JOBS_NAME: _table, ...partial } = devcloudEnv;
    expect(() => loadConfig(partial)).toThrow(ConfigError);
    expect(() => loadConfig(partial)).toThrow(/QUIRE_BUS_EVENTS_NAME[\s\S]*QUIRE_TABLE_JOBS_NAME/);
  });

  it("parses a custom taxonomy and refuses one with a single label", () => {
    expect(loadConfig({ ...devcloudEnv, QUIRE_TAXONOMY: "memo, brief ,other" }).QUIRE_TAXONOMY).toEqual([
      "memo",
      "brief",
      "other",
    ]);
    expect(() => loadConfig({ ...devcloudEnv, QUIRE_TAXONOMY: "only" })).toThrow(/at least two labels/);
  });

  it("refuses a short API key", () => {
    expect(() => loadConfig({ ...devcloudEnv, QUIRE_API_KEY: "short" })).toThrow(/at least 16/);
  });
});

describe("loadConfig deployed with SST", () => {
  /** What SST links to the summarizer's function: its queue and DLQ, the jobs table, the bus, the bucket. */
  const summarizerLinks = {
    App: { name: "quire-summarizer", stage: "production" },
    SummarizerQueue: { url: "https://sqs.eu-west-1.amazonaws.com/123456789012/quire-production-summarizer" },
    SummarizerDlq: { url: "https://sqs.eu-west-1.amazonaws.com/123456789012/quire-production-summarizer-dlq" },
    JobsTable: { name: "quire-production-jobs" },
    EventsBus: {
      name: "quire-production-events",
      arn: "arn:aws:events:eu-west-1:123456789012:event-bus/quire-production-events",
    },
    DocumentsBucket: { name: "quire-production-documents-123456789012" },
  };

  it("reads the linked resources from Resource, as the variables devcloud would set", () => {
    const config = loadConfig({}, summarizerLinks);
    expect(config.QUIRE_QUEUE_SUMMARIZER_URL).toBe(summarizerLinks.SummarizerQueue.url);
    expect(config.QUIRE_DLQ_SUMMARIZER_URL).toBe(summarizerLinks.SummarizerDlq.url);
    expect(config.QUIRE_TABLE_JOBS_NAME).toBe("quire-production-jobs");
    expect(config.QUIRE_BUS_EVENTS_NAME).toBe("quire-production-events");
    expect(config.QUIRE_BUCKET_DOCUMENTS_NAME).toBe("quire-production-documents-123456789012");
  });

  it("gives a resource the service does not link a value that names the missing link", () => {
    const config = loadConfig({}, summarizerLinks);
    expect(config.QUIRE_QUEUE_NOTIFIER_URL).toBe(unlinked("NotifierQueue"));
    expect(config.QUIRE_TABLE_NOTIFICATIONS_NAME).toMatch(/^unlinked:NotificationsTable /);
  });

  it("takes the API key from the QuireApiKey secret and the sender from the email identity", () => {
    const config = loadConfig(
      {},
      {
        ...summarizerLinks,
        QuireApiKey: { value: "qk_production_0123456789abcdef" },
        Email: { sender: "quire@example.com" },
      },
    );
    expect(config.QUIRE_API_KEY).toBe("qk_production_0123456789abcdef");
    expect(config.QUIRE_EMAIL_FROM).toBe("quire@example.com");
  });

  it("sends from notifications@ a domain identity", () => {
    expect(loadConfig({}, { ...summarizerLinks, Email: { sender: "example.com" } }).QUIRE_EMAIL_FROM).toBe(
      "Quire <notifications@example.com>",
    );
  });

  it("reads a KMS key's id (its alias) from its link", () => {
    const config = loadConfig({}, { ...summarizerLinks, SecretsKey: { id: "alias/quire-production-secrets" } });
    expect(config.QUIRE_KEY_SECRETS_ID).toBe("alias/quire-production-secrets");
    expect(loadConfig({}, summarizerLinks).QUIRE_KEY_SECRETS_ID).toBe(unlinked("SecretsKey"));
  });

  it("lets an explicitly set variable win over a link", () => {
    const config = loadConfig({ QUIRE_TABLE_JOBS_NAME: "jobs-override" }, summarizerLinks);
    expect(config.QUIRE_TABLE_JOBS_NAME).toBe("jobs-override");
  });

  it("reads links from the SST_RESOURCE_* variables SST sets on a function (through sst's own Resource)", async () => {
    const variables = Object.fromEntries(
      Object.entries(summarizerLinks).map(([name, value]) => [`SST_RESOURCE_${name}`, JSON.stringify(value)]),
    );
    // A fresh process: sst/resource reads process.env once, on first use.
    const script = `import { loadConfig } from "${new URL("../src/index.ts", import.meta.url).pathname}";
      process.stdout.write(JSON.stringify(loadConfig()));`;
    const { execFileSync } = await import("node:child_process");
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env.PATH, ...variables },
    }).toString();
    const config = JSON.parse(output) as Record<string, string>;
    expect(config.QUIRE_QUEUE_SUMMARIZER_URL).toBe(summarizerLinks.SummarizerQueue.url);
    expect(config.QUIRE_TABLE_JOBS_NAME).toBe("quire-production-jobs");
  });

  it("has no links outside SST, so a local process reads plain variables", () => {
    expect(environmentFromLinks({})).toEqual({});
  });
});
