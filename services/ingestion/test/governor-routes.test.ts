import { createGovernor } from "@quire/bedrock";
import { createGovernorReportStore } from "@quire/jobs";
import { startGovernorReporting } from "@quire/pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIngestion, type Ingestion } from "./support/harness.ts";

let ingestion: Ingestion;
beforeAll(async () => {
  ingestion = await startIngestion();
});
afterAll(() => ingestion?.stop());

const governors = async () => {
  const response = await ingestion.request("/v1/governors");
  expect(response.status).toBe(200);
  return ((await response.json()) as { governors: Record<string, unknown>[] }).governors;
};

describe("GET /v1/governors", () => {
  it("is empty while no stage process reports", async () => {
    expect(await governors()).toEqual([]);
  });

  it("shows what each stage process's governor last reported through the jobs table, and leaves out a silent one", async () => {
    const store = createGovernorReportStore({
      client: ingestion.clients.dynamodb,
      tableName: ingestion.config.QUIRE_TABLE_JOBS_NAME,
    });
    const governor = createGovernor({ initialLimit: 6, quotas: { "model-a": { requestsPerMinute: 600 } } });
    await governor.run("model-a", { lane: "bulk", estimatedTokens: 100 }, async () => "done");
    const reporting = startGovernorReporting({
      governor,
      store,
      processId: "host-1-abc",
      services: () => ["classifier", "summarizer"],
      everyMs: 60_000,
    });
    await reporting.reportNow();
    // A process that stopped reporting a minute ago.
    await store.report(
      {
        processId: "host-2-old",
        service: "summarizer",
        modelId: "model-a",
        limit: 1,
        inFlight: 0,
        waiting: { interactive: 0, bulk: 0 },
        successes: 0,
        throttles: 0,
        errors: 0,
        share: 1,
        scale: 1,
        circuit: "closed",
        reportedAt: Date.now() - 60_000,
      },
      300_000,
    );
    expect(await governors()).toEqual([
      expect.objectContaining({
        processId: "host-1-abc",
        service: "classifier,summarizer",
        modelId: "model-a",
        limit: 6,
        inFlight: 0,
        successes: 1,
        throttles: 0,
        circuit: "closed",
      }),
    ]);
    // A process that stops takes its report away at once.
    await reporting.stop();
    expect(await governors()).toEqual([]);
  });
});
