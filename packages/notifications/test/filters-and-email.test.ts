import { describe, expect, it } from "vitest";
import {
  compileSubscriptionFilter,
  InvalidEventPatternError,
  MAX_FILTER_BYTES,
  MAX_FILTER_DEPTH,
  renderJobCompletedEmail,
  renderRunDigestEmail,
  subscriptionInput,
  subscriptionWants,
  type Subscription,
} from "../src/index.ts";

const at = "2026-11-23T10:00:00.000Z";
const provenance = { modelId: "m", promptVersion: "v1" };
const jobCompleted = (label: string, metadata: Record<string, string> = {}) => ({
  type: "job.completed",
  timestamp: at,
  data: {
    schemaVersion: 1,
    jobId: "job_1",
    title: "Lease <Unit 4>",
    metadata,
    summary: { text: "Rent is 900 EUR.", ...provenance },
    classification: { label, confidence: 0.87, ...provenance },
    submittedAt: at,
    completedAt: at,
  },
});
const jobFailed = (metadata: Record<string, string> = {}) => ({
  type: "job.failed",
  timestamp: at,
  data: {
    schemaVersion: 1,
    jobId: "job_2",
    metadata,
    stage: "summarizer",
    reason: { code: "MODEL_ERROR", message: "no" },
    failedAt: at,
  },
});
const runCompleted = { type: "run.completed", timestamp: at, data: { runId: "run_1" } };
const subscription = (overrides: Partial<Subscription> = {}) =>
  ({
    id: "sub_1",
    kind: "webhook",
    url: "https://x",
    secrets: [],
    events: ["job.completed", "run.completed"],
    status: "active",
    createdAt: at,
    updatedAt: at,
    ...overrides,
  }) as Subscription;

describe("subscription filters", () => {
  it("no filter lets every subscribed event through", () => {
    expect(compileSubscriptionFilter(undefined)(jobCompleted("contract"))).toBe(true);
  });

  it("classification keeps only jobs with one of the labels", () => {
    const wants = compileSubscriptionFilter({ classification: ["invoice", "contract"] });
    expect(wants(jobCompleted("contract"))).toBe(true);
    expect(wants(jobCompleted("policy"))).toBe(false);
  });

  it("metadata keeps only jobs whose metadata has one of the values per key", () => {
    const wants = compileSubscriptionFilter({ metadata: { client: ["acme"], region: ["eu", "us"] } });
    expect(wants(jobCompleted("contract", { client: "acme", region: "eu" }))).toBe(true);
    expect(wants(jobCompleted("contract", { client: "acme" }))).toBe(false);
    expect(wants(jobCompleted("contract", { client: "other", region: "eu" }))).toBe(false);
  });

  it("a classification filter does not hide job failures, which have no classification", () => {
    const wants = compileSubscriptionFilter({ classification: ["invoice"] });
    expect(wants(jobFailed())).toBe(true);
    expect(wants(jobCompleted("invoice"))).toBe(true);
    expect(wants(jobCompleted("contract"))).toBe(false);
  });

  it("a metadata filter narrows job failures as well as completions", () => {
    const wants = compileSubscriptionFilter({ classification: ["invoice"], metadata: { client: ["acme"] } });
    expect(wants(jobFailed({ client: "acme" }))).toBe(true);
    expect(wants(jobFailed({ client: "other" }))).toBe(false);
    expect(wants(jobFailed())).toBe(false);
  });

  it("job filters do not hide run events, which have no classification", () => {
    expect(compileSubscriptionFilter({ classification: ["invoice"] })(runCompleted)).toBe(true);
  });

  it("a pattern is an EventBridge event pattern over the payload", () => {
    const wants = compileSubscriptionFilter({
      pattern: { data: { classification: { confidence: [{ numeric: [">=", 0.9] }] } } },
    });
    expect(wants(jobCompleted("contract"))).toBe(false);
    expect(
      compileSubscriptionFilter({ pattern: { data: { classification: { confidence: [{ numeric: [">", 0.8] }] } } } })(
        jobCompleted("x"),
      ),
    ).toBe(true);
  });

  it("an invalid pattern fails to compile with the matcher's reason", () => {
    expect(() => compileSubscriptionFilter({ pattern: { data: { x: [{ wildcard: 5 }] } } })).toThrow(
      InvalidEventPatternError,
    );
  });

  it("an inactive subscription or an unsubscribed type gets nothing", () => {
    expect(subscriptionWants(subscription({ status: "disabled" }), jobCompleted("x"))).toBe(false);
    expect(subscriptionWants(subscription({ events: ["run.completed"] }), jobCompleted("x"))).toBe(false);
    expect(subscriptionWants(subscription(), jobCompleted("x"))).toBe(true);
  });
});

describe("subscription input", () => {
  it("a webhook subscribes to every event type unless it names some", () => {
    expect(subscriptionInput.parse({ kind: "webhook", url: "https://hooks.example.com" })).toMatchObject({
      events: ["job.completed", "job.failed", "run.completed"],
    });
  });

  it("refuses non-http URLs, unknown event types and unknown fields", () => {
    const result = subscriptionInput.safeParse({
      kind: "webhook",
      url: "file:///etc/passwd",
      events: ["job.exploded"],
      colour: "red",
    });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join(".") || i.code).sort()).toEqual([
      "events.0",
      "unrecognized_keys",
      "url",
    ]);
  });

  it("an email subscription defaults to per-job", () => {
    expect(subscriptionInput.parse({ kind: "email", address: "ada@example.com" })).toMatchObject({ mode: "per-job" });
  });
});

describe("filter limits", () => {
  /** `{ data: { a: { a: … } } }`, `levels` objects deep counting the pattern itself. */
  const nested = (levels: number) => {
    let pattern: Record<string, unknown> = { a: ["x"] };
    for (let i = 2; i < levels; i++) pattern = { a: pattern };
    return { data: pattern };
  };
  const issueCodes = (filter: unknown) => {
    const result = subscriptionInput.safeParse({ kind: "webhook", url: "https://hooks.example.com", filter });
    return result.success
      ? []
      : result.error.issues.map((i) => (i as { params?: { code?: string } }).params?.code ?? i.code);
  };

  it(`accepts a pattern ${MAX_FILTER_DEPTH} levels deep, arrays counted`, () => {
    // nested(n) ends in an array: n objects deep plus the array is n + 1 levels.
    expect(issueCodes({ pattern: nested(MAX_FILTER_DEPTH - 1) })).toEqual([]);
  });

  it("refuses a pattern nested deeper than the limit with FILTER_TOO_DEEP, however deep it goes", () => {
    expect(issueCodes({ pattern: nested(MAX_FILTER_DEPTH) })).toEqual(["FILTER_TOO_DEEP"]);
    expect(issueCodes({ pattern: nested(100_000) })).toEqual(["FILTER_TOO_DEEP"]);
  });

  it("refuses a filter over the size limit with FILTER_TOO_LARGE", () => {
    const labels = Array.from({ length: 1000 }, (_, i) => `label-${i}-${"x".repeat(10)}`);
    expect(JSON.stringify({ classification: labels }).length).toBeGreaterThan(MAX_FILTER_BYTES);
    expect(issueCodes({ classification: labels })).toEqual(["FILTER_TOO_LARGE"]);
    expect(issueCodes({ classification: labels.slice(0, 100) })).toEqual([]);
  });
});

describe("emails", () => {
  it("a job email has the title, classification, summary and job link in text and escaped HTML", () => {
    const { data } = jobCompleted("contract");
    const email = renderJobCompletedEmail(data as never, { job: "http://api/v1/jobs/job_1" });
    expect(email.subject).toBe("[Quire] Lease <Unit 4>: contract");
    expect(email.text).toContain("Classification: contract (87% confidence)");
    expect(email.text).toContain("Rent is 900 EUR.");
    expect(email.text).toContain("http://api/v1/jobs/job_1");
    expect(email.html).toContain("Lease &lt;Unit 4&gt;");
    expect(email.html).not.toContain("<Unit 4>");
  });

  it("a run digest counts documents per classification, most first, and the failures", () => {
    const email = renderRunDigestEmail(
      {
        schemaVersion: 1,
        runId: "run_1",
        total: 10_000,
        completed: 9_990,
        failed: 10,
        countsByClassification: { invoice: 100, contract: 9_890 },
        startedAt: at,
        completedAt: "2026-11-23T10:50:00.000Z",
      } as never,
      { run: "http://api/v1/runs/run_1" },
    );
    expect(email.subject).toBe("[Quire] Run run_1 finished: 9990/10000 complete, 10 failed");
    expect(email.text.indexOf("contract")).toBeLessThan(email.text.indexOf("invoice"));
    expect(email.text).toContain("Failures: 10");
    expect(email.text).toContain("finished in 3000 s");
    expect(email.html).toContain('<td>contract</td><td style="text-align: right">9890</td>');
  });
});
