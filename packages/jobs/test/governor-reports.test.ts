import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGovernorReportStore, type GovernorReport, type GovernorReportStore } from "../src/index.ts";
import { startTestCloud, type TestCloud } from "./support/store.ts";

let cloud: TestCloud;
let reports: GovernorReportStore;
beforeAll(async () => {
  cloud = await startTestCloud();
  reports = createGovernorReportStore({ client: cloud.client, tableName: cloud.tableName });
});
afterAll(() => cloud?.stop());

const report = (processId: string, reportedAt: number, overrides: Partial<GovernorReport> = {}): GovernorReport => ({
  processId,
  service: "summarizer",
  modelId: "model-a",
  limit: 24,
  inFlight: 20,
  waiting: { interactive: 0, bulk: 3 },
  successes: 100,
  throttles: 2,
  errors: 0,
  share: 0.5,
  scale: 1,
  circuit: "closed",
  reportedAt,
  ...overrides,
});

describe("the governors' reports, in the jobs table", () => {
  it("each process's report replaces its last; reading returns the fresh ones, by service, without the table's keys", async () => {
    await reports.report(report("p1", 1_000), 30_000);
    await reports.report(report("p1", 6_000, { inFlight: 22 }), 30_000);
    await reports.report(report("p2", 6_500, { service: "classifier" }), 30_000);
    await reports.report(report("gone", 1_000, { service: "classifier" }), 30_000);
    const fresh = await reports.recent(10_000, 12_000);
    expect(fresh).toEqual([report("p2", 6_500, { service: "classifier" }), report("p1", 6_000, { inFlight: 22 })]);
  });

  it("a stopping process withdraws its report for a model, and only that one", async () => {
    await reports.report(report("p4", 20_000), 30_000);
    await reports.report(report("p4", 20_000, { modelId: "model-b" }), 30_000);
    await reports.withdraw("p4", "model-a");
    const left = (await reports.recent(10_000, 21_000)).filter((r) => r.processId === "p4");
    expect(left.map((r) => r.modelId)).toEqual(["model-b"]);
  });

  it("a report expires by TTL when its process stops reporting", async () => {
    await reports.report(report("p3", 10_000), 30_000);
    const { Item } = await cloud.client.send(
      new GetItemCommand({
        TableName: cloud.tableName,
        Key: { pk: { S: "GOVERNORS" }, sk: { S: "PROCESS#p3#model-a" } },
      }),
    );
    expect(Item?.expiresAt).toEqual({ N: "40" });
  });
});
