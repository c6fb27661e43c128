import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createQuireMetrics, METRIC, METRICS_NAMESPACE } from "../src/index.ts";

/** Powertools writes EMF with its own Console on stdout; capture the lines it writes. */
function captureEmf() {
  const lines: Record<string, unknown>[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk);
    if (text.includes("_aws")) lines.push(JSON.parse(text));
    return true;
  });
  return { lines, restore: () => spy.mockRestore() };
}

function metricsUnderTest() {
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  return createQuireMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "summarizer" }));
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("Quire metrics as EMF", () => {
  it("writes one EMF line per flush, in the Quire namespace with the service dimension", () => {
    const metrics = metricsUnderTest();
    const emf = captureEmf();
    metrics.jobCompleted();
    metrics.jobCompleted();
    metrics.jobFailed();
    metrics.flush();
    emf.restore();

    expect(emf.lines).toHaveLength(1);
    const [line] = emf.lines as [
      {
        _aws: {
          CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
        };
      } & Record<string, unknown>,
    ];
    const directive = line._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe("Quire");
    expect(directive.Dimensions).toEqual([["service"]]);
    expect(line.service).toBe("summarizer");
    expect(line[METRIC.jobsCompleted]).toEqual([1, 1]);
    expect(line[METRIC.jobsFailed]).toBe(1);
  });

  it("records a Converse answer as latency and tokens, a throttle as a throttle, anything else as an error", () => {
    const metrics = metricsUnderTest();
    const emf = captureEmf();
    metrics.modelRequest({ latencyMs: 812, usage: { inputTokens: 1200, outputTokens: 150 } });
    metrics.modelRequest({ latencyMs: 40, error: "ThrottlingException" });
    metrics.modelRequest({ latencyMs: 5, error: "ValidationException" });
    metrics.flush();
    emf.restore();

    const line = emf.lines[0]!;
    expect(line[METRIC.bedrockLatency]).toBe(812);
    expect(line[METRIC.bedrockInputTokens]).toBe(1200);
    expect(line[METRIC.bedrockOutputTokens]).toBe(150);
    expect(line[METRIC.bedrockThrottles]).toBe(1);
    expect(line[METRIC.bedrockErrors]).toBe(1);
  });

  it("writes nothing when nothing was recorded since the last flush", () => {
    const metrics = metricsUnderTest();
    const emf = captureEmf();
    metrics.flush();
    metrics.jobCompleted();
    metrics.flush();
    metrics.flush();
    emf.restore();
    expect(emf.lines).toHaveLength(1);
  });

  it("writes nothing while POWERTOOLS_METRICS_DISABLED is true (npm start's default)", () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "true");
    const metrics = createQuireMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "summarizer" }));
    const emf = captureEmf();
    metrics.jobCompleted();
    metrics.flush();
    emf.restore();
    expect(emf.lines).toHaveLength(0);
  });
});
