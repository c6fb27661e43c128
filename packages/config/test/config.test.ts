import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.ts";

const devcloudEnv = {
  QUIRE_TOPIC_DOCUMENTS_ARN: "arn:aws:sns:us-east-1:000000000000:quire-documents",
  QUIRE_QUEUE_INGESTION_URL: "q1",
  QUIRE_QUEUE_SUMMARIZER_URL: "q2",
  QUIRE_QUEUE_CLASSIFIER_URL: "q3",
  QUIRE_QUEUE_NOTIFIER_URL: "q4",
  QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL: "q5",
  QUIRE_DLQ_INGESTION_URL: "d1",
  QUIRE_DLQ_SUMMARIZER_URL: "d2",
  QUIRE_DLQ_CLASSIFIER_URL: "d3",
  QUIRE_DLQ_NOTIFIER_URL: "d4",
  QUIRE_DLQ_NOTIFIER_DELIVERIES_URL: "d5",
  QUIRE_BUS_EVENTS_NAME: "quire-events",
  QUIRE_TABLE_JOBS_NAME: "quire-jobs",
  QUIRE_TABLE_NOTIFICATIONS_NAME: "quire-notifications",
  QUIRE_BUCKET_DOCUMENTS_NAME: "quire-documents",
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
    expect(loadConfig({ ...devcloudEnv, QUIRE_TAXONOMY: "memo, brief ,other" }).QUIRE_TAXONOMY).toEqual(["memo", "brief", "other"]);
    expect(() => loadConfig({ ...devcloudEnv, QUIRE_TAXONOMY: "only" })).toThrow(/at least two labels/);
  });

  it("refuses a short API key", () => {
    expect(() => loadConfig({ ...devcloudEnv, QUIRE_API_KEY: "short" })).toThrow(/at least 16/);
  });
});
