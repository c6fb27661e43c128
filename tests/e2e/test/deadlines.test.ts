import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPipeline, type Pipeline } from "./support/pipeline.ts";

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline({ env: { QUIRE_BEDROCK_RPM: "400", QUIRE_BEDROCK_LATENCY_MS: "8000" } });
});
afterAll(() => pipeline?.stop());

const documents = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ text: `Invoice number ${i}. Amount due: ${i} EUR. Total due upon receipt.` }));
type Json = Record<string, any>;

describe("runs with a deadline", () => {
  it("refuses a deadline the quota cannot meet, with the plan, and submits nothing", async () => {
    const response = await pipeline.request("/v1/runs", { json: { documents: documents(10_000), deadline: "PT30M" } });
    const { error } = (await response.json()) as Json;
    expect(response.status).toBe(422);
    expect(error.code).toBe("DEADLINE_NOT_FEASIBLE");
    expect(error.message).toContain("400 calls/min (rpm-bound)");
    expect(error.details).toMatchObject({ feasible: false, requiredConcurrency: 54, bindingConstraint: "rpm" });
  });

  it("accepts a feasible deadline, answers with the plan, and shows the run on track against it", async () => {
    const response = await pipeline.request("/v1/runs", { json: { documents: documents(3), deadline: "PT60M" } });
    const body = (await response.json()) as Json;
    expect(response.status).toBe(202);
    expect(body.plan).toMatchObject({
      feasible: true,
      deadline: "PT60M",
      callsPerMinute: 400,
      expectedFinish: expect.any(String),
    });

    const deadline = Date.now() + 15_000;
    let run: Json = {};
    while (Date.now() < deadline && run.status !== "complete") {
      run = (await (await pipeline.request(`/v1/runs/${body.runId}`)).json()) as Json;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run).toMatchObject({ status: "complete", deadline: { duration: "PT60M", onTrack: true } });
    // The run keeps the plan it was given, for whoever reads it later (the console shows it).
    expect(run.plan).toEqual(body.plan);
  });

  it("runs an infeasible deadline anyway when asked to", async () => {
    const response = await pipeline.request("/v1/runs", {
      json: { documents: documents(2), deadline: "PT1S", onInfeasibleDeadline: "accept" },
    });
    const body = (await response.json()) as Json;
    expect(response.status).toBe(202);
    expect(body.plan.feasible).toBe(false);
    const run = (await (await pipeline.request(`/v1/runs/${body.runId}`)).json()) as Json;
    expect(run.plan).toEqual(body.plan);
  });
});
