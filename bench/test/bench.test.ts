import { quireEnvironmentSchema } from "@quire/config";
import { describe, expect, it } from "vitest";
import { generateDocuments } from "../src/documents.ts";
import {
  adaptationIdealSeconds,
  adaptedAfterSeconds,
  efficiencyOf,
  renderChart,
  renderMarkdown,
  requestsPerDocument,
  type AdaptationResult,
  type BenchReport,
} from "../src/report.ts";
import { percentile, type ScenarioResult } from "../src/scenario.ts";

describe("generated documents", () => {
  it("are deterministic for a seed, of realistic length, and never share content", () => {
    const documents = generateDocuments(200, 7);
    expect(generateDocuments(200, 7)).toEqual(documents);
    expect(new Set(documents.map((d) => d.text)).size).toBe(200);
    for (const d of documents) expect(d.text.length).toBeGreaterThanOrEqual(3000);
    expect(new Set(documents.map((d) => d.metadata.kind))).toEqual(
      new Set(["lease", "invoice", "letter", "policy", "filing"]),
    );
  });
});

describe("the full bench's run fits what ingestion accepts", () => {
  it("10,000 generated documents as one POST /v1/runs body stay under the default QUIRE_MAX_RUN_BODY_BYTES", () => {
    const limit = quireEnvironmentSchema.shape.QUIRE_MAX_RUN_BODY_BYTES.parse(undefined);
    const body = JSON.stringify({ documents: generateDocuments(10_000, 7, "bench") });
    expect(Buffer.byteLength(body)).toBeLessThan(limit);
  });
});

describe("report arithmetic", () => {
  it("percentiles pick the nearest rank", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile([], 50)).toBe(0);
  });

  it("efficiency is the ideal time over the measured one", () => {
    expect(efficiencyOf(3000, 3300)).toBeCloseTo(0.909, 3);
  });

  const scenario = (name: string, seconds: number): ScenarioResult => ({
    name,
    description: name,
    documents: 10,
    wallSeconds: seconds / 10,
    submitSeconds: 1,
    seconds,
    devcloudCpuMs: 500,
    docsPerSecond: 10 / seconds,
    complete: 10,
    failed: 0,
    bedrock: { calls: 22, succeeded: 20, throttles: 2, callsPerDocument: 2, peakInFlight: 5, meanTokensPerCall: 1000 },
    jobLatencySeconds: { p50: 10, p95: 20 },
    completions: { events: 10, uniqueJobs: 10, lost: 0, duplicated: 0 },
    processes: [{ name: "summarizer-1", peakRssBytes: 200 * 1024 * 1024 }],
    samples: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => ({
      t: t * 10,
      inFlight: t,
      succeeded: t * 2,
      throttles: t,
      finished: t,
    })),
  });

  /** A report of 10 documents at 400 RPM with (a) and (b) as given; (c) took 160 s. */
  const reportOf = (governor: ScenarioResult, baseline: ScenarioResult): BenchReport => ({
    settings: {
      documents: 10,
      requestsPerMinute: 400,
      tokensPerMinute: 1,
      latency: "8 s",
      timeScale: 0.25,
      workersPerStage: 2,
    },
    idealSeconds: 90,
    governor,
    baseline,
    sequential: { sampled: 2, perDocumentSeconds: 16, seconds: 160, docsPerSecond: 1 / 16 },
  });

  it("the markdown reports ratios of (b) and (c) to (a) and the peak memory", () => {
    const markdown = renderMarkdown(reportOf(scenario("(a)", 100), scenario("(b)", 150)));
    expect(markdown).toContain("(b)/(a) = 1.50");
    expect(markdown).toContain("(c)/(a) = 1.6");
    expect(markdown).toContain("| efficiency (ideal / measured, for the completed documents) | 0.90 | 0.60 |");
    expect(markdown).toContain("200 MB");
  });

  it("the markdown prints each scenario's model cost, counted by Quire and billed, and per 1,000 documents", () => {
    const markdown = renderMarkdown(
      reportOf(
        { ...scenario("(a)", 100), cost: { countedUsd: 0.00725, billedUsd: 0.00725 } },
        { ...scenario("(b)", 150), cost: { countedUsd: 0.00725, billedUsd: 0.007975 } },
      ),
    );
    expect(markdown).toContain(
      "| model cost on demand: counted by Quire / billed for the successful calls | $0.007250 / $0.007250 | $0.007250 / $0.007975 | - |",
    );
    expect(markdown).toContain("| model cost per 1,000 documents | $0.7250 | $0.7250 | - |");
  });

  it("prints AWS requests and DynamoDB writes per document, and the operations that make most of them", () => {
    const requests = {
      "dynamodb:UpdateItem": 40,
      "dynamodb:PutItem": 20,
      "dynamodb:GetItem": 30,
      "sqs:ReceiveMessage": 15,
    };
    const markdown = renderMarkdown(reportOf({ ...scenario("(a)", 100), requests }, scenario("(b)", 150)));
    expect(markdown).toContain("| AWS requests / DynamoDB writes per document | 10.5 / 6.0 | - | - |");
    expect(requestsPerDocument(requests, 10)).toEqual([
      "AWS requests per document: **10.50**, of which DynamoDB writes **6.00** (devcloud's count, the bench's polling of the run included).",
      "",
      "| request | per document |",
      "| --- | --- |",
      "| dynamodb:UpdateItem | 4.00 |",
      "| dynamodb:GetItem | 3.00 |",
      "| dynamodb:PutItem | 2.00 |",
      "| sqs:ReceiveMessage | 1.50 |",
    ]);
  });

  it("the overhead goals judge the consumers' peak memory and ingestion's (which holds the run's body) apart", () => {
    const MB = 1024 * 1024;
    const markdown = renderMarkdown({
      ...reportOf(scenario("(a)", 100), scenario("(b)", 150)),
      overhead: {
        documents: 10,
        wallSeconds: 1,
        docsPerSecond: 10,
        hops: [{ hop: "classifier: classifier → handler", messages: 10, msPerMessage: 4 }],
        processes: [
          { name: "ingestion", peakRssBytes: 400 * MB },
          { name: "classifier-1", peakRssBytes: 170 * MB },
          { name: "notifier", peakRssBytes: 180 * MB },
        ],
      },
    });
    expect(markdown).toContain(
      "| ≤ 5 ms CPU per stage message (the dearer stage) | 4.00 | summarizer 14.9, classifier 13.6 | met |",
    );
    expect(markdown).toContain(
      "| ≤ 200 MB peak RSS per service process: the consumers (stages, notifier, batcher) | 180 | 330–556 | met |",
    );
    expect(markdown).toContain(
      "| ≤ 200 MB peak RSS per service process: ingestion (holds the whole run's request body while it submits) | 400 | 330–556 | not met: 2.0× over |",
    );
  });

  it("flags a scenario whose Bedrock calls per document are not exactly 2", () => {
    const wasteful = {
      ...scenario("(b)", 150),
      bedrock: {
        calls: 30,
        succeeded: 19,
        throttles: 11,
        callsPerDocument: 1.9,
        peakInFlight: 5,
        meanTokensPerCall: 1000,
      },
    };
    const markdown = renderMarkdown({
      settings: { documents: 10 },
      idealSeconds: 90,
      governor: scenario("(a)", 100),
      baseline: wasteful,
      sequential: { sampled: 2, perDocumentSeconds: 16, seconds: 160, docsPerSecond: 1 / 16 },
    });
    expect(markdown).toContain("| Bedrock calls per document (successful; must be 2) | 2.000 | 1.900 ⚠ not 2 | 2 |");
  });

  it("the chart is an SVG with a line per scenario in each panel (in flight, answered, throttles per call) and the in-flight need", () => {
    const svg = renderChart(scenario("(a)", 100), scenario("(b)", 150), 54);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(6);
    expect(svg).toContain("need 54");
    expect(svg).toContain("throttles per successful call");
  });

  /** A scenario sampled every second for 10 minutes: answering `rate(t)` calls a minute, throttled `throttled(t)` a minute. */
  const adaptation = (
    rate: (t: number) => number,
    throttled: (t: number) => number,
    extra: Partial<AdaptationResult> = {},
  ): AdaptationResult => {
    const samples = [];
    let succeeded = 0;
    let throttles = 0;
    for (let t = 0; t <= 600; t++) {
      samples.push({ t, inFlight: 0, succeeded, throttles, finished: Math.floor(succeeded / 2) });
      succeeded += rate(t) / 60;
      throttles += throttled(t) / 60;
    }
    return {
      ...scenario("x", 600),
      documents: 2000,
      configuredRequestsPerMinute: 800,
      samples,
      ...extra,
    };
  };
  const quota = { requestsPerMinute: 400, latencyMeanMs: 8000 };

  it("an adaptation scenario's ideal is its calls at the quota left to it: the whole quota, then what a foreign client leaves", () => {
    expect(
      adaptationIdealSeconds(
        adaptation(
          () => 400,
          () => 0,
        ),
        quota,
      ),
    ).toBeCloseTo(600 + 8);
    // 4,000 calls: 2 minutes at 400 (800 calls), then 3,200 at 200/min (16 minutes).
    const foreign = adaptation(
      () => 400,
      () => 0,
      { foreign: { fromSeconds: 120, requestsPerMinute: 200, calls: 0, succeeded: 0, throttles: 0 } },
    );
    expect(adaptationIdealSeconds(foreign, quota)).toBeCloseTo(120 + 16 * 60 + 8);
  });

  it("adapted: the start of the first minute from which every minute answers ≥ 85 % of the quota with throttles under 5 % of it", () => {
    // Throttled heavily for 90 s, then at the quota: adapted from 90 s.
    const wrong = adaptation(
      () => 400,
      (t) => (t < 90 ? 400 : 0),
    );
    expect(adaptedAfterSeconds(wrong, quota)).toBeCloseTo(90, -1);
    // At half the quota all along: never adapted.
    expect(
      adaptedAfterSeconds(
        adaptation(
          () => 200,
          () => 0,
        ),
        quota,
      ),
    ).toBeUndefined();
  });

  it("adapted, for a quota configured wrong: counted from the first call to the model, not from the pipeline's start", () => {
    // The pipeline starts calling at 15 s, is throttled until 105 s, then answers at the quota: 90 s.
    const late = adaptation(
      (t) => (t < 15 ? 0 : 400),
      (t) => (t >= 15 && t < 105 ? 400 : 0),
    );
    expect(adaptedAfterSeconds(late, quota)).toBeCloseTo(90, -1);
  });
});
