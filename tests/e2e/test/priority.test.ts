/**
 * Sync-mode requests (`?wait=`) travel in their own lane: their own queue per stage, served
 * beside a bulk run's backlog rather than behind it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPipeline, type Pipeline } from "./support/pipeline.ts";

// Every model call takes 250 ms: 150 bulk documents over 16 workers per stage are ~2.5 s of backlog.
const SLOW_MODEL = {
  defaults: { latency: { distribution: "fixed" as const, meanMs: 250, jitterMs: 0, perOutputTokenMs: 0, minMs: 0 } },
};

describe("the interactive lane", () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ bedrock: SLOW_MODEL });
  });
  afterAll(() => pipeline.stop());

  it("answers a sync request while a bulk run's backlog is still queued ahead of it", async () => {
    const documents = Array.from({ length: 150 }, (_, i) => ({
      text: `Invoice ${i}. Amount due 120.00 within 30 days.`,
      title: `bulk ${i}`,
    }));
    const run = (await (await pipeline.request("/v1/runs", { json: { documents } })).json()) as { runId: string };

    const sync = await pipeline.request("/v1/documents?wait=20", {
      json: {
        text: "Dear Ms. Okafor, thank you for your letter of 3 May. Yours sincerely, Ann.",
        title: "urgent letter",
      },
    });
    const counts = (
      (await (await pipeline.request(`/v1/runs/${run.runId}`)).json()) as {
        counts: { complete: number; total: number };
      }
    ).counts;

    expect(sync.status).toBe(200);
    expect(((await sync.json()) as { status: string }).status).toBe("complete");
    // In one queue it would have waited for the 150 documents ahead of it: most of them are still to do.
    expect(counts.complete).toBeLessThan(counts.total / 2);
  });
});
