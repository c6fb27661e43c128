import { describe, expect, it } from "vitest";
import { z } from "zod";
import { documentSubmitted, eventCatalog, isDetailType, parseEventDetail, SCHEMA_VERSION } from "../src/index.ts";

const submitted = {
  schemaVersion: SCHEMA_VERSION,
  type: "document.submitted",
  jobId: "job_01JABCDEFGHJK",
  submittedAt: "2026-11-23T09:00:00.000Z",
  contentSha256: "a".repeat(64),
  document: { kind: "inline", text: "This Agreement is made between..." },
  stages: ["summary", "classification"],
  priority: "bulk",
} as const;

const usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15 };

describe("document.submitted", () => {
  it("accepts an inline document", () => {
    expect(documentSubmitted.parse(submitted)).toEqual(submitted);
  });

  it("accepts an S3 claim check in place of the text", () => {
    const claimCheck = {
      ...submitted,
      document: { kind: "s3", bucket: "quire-documents", key: "job_01JABCDEFGHJK", sizeBytes: 1048576 },
    };
    expect(documentSubmitted.parse(claimCheck).document.kind).toBe("s3");
  });

  it("rejects a message of another schema version, naming the field", () => {
    const result = documentSubmitted.safeParse({ ...submitted, schemaVersion: 2 });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(["schemaVersion"]);
  });

  it("rejects an empty stage list and a malformed content hash", () => {
    const result = documentSubmitted.safeParse({ ...submitted, stages: [], contentSha256: "xyz" });
    expect(result.error!.issues.map((i) => i.path.join("."))).toEqual(["contentSha256", "stages"]);
  });
});

describe("EventBridge event details", () => {
  it("Job Completed carries both results and the correlation ids", () => {
    const detail = parseEventDetail("Job Completed", {
      schemaVersion: 1,
      jobId: "job_01JABCDEFGHJK",
      runId: "run_01JABCDEFGHJK",
      summary: { text: "A lease.", modelId: "m", promptVersion: "summary-v1", usage },
      classification: { label: "contract", confidence: 0.9, modelId: "m", promptVersion: "classify-v1", usage },
      submittedAt: "2026-11-23T09:00:00Z",
      completedAt: "2026-11-23T09:00:08Z",
    });
    expect(detail.runId).toBe("run_01JABCDEFGHJK");
  });

  it("a confidence outside [0, 1] is refused", () => {
    expect(() =>
      parseEventDetail("Classification Completed", {
        schemaVersion: 1,
        jobId: "job_01JABCDEFGHJK",
        classification: { label: "invoice", confidence: 1.5, modelId: "m", promptVersion: "v", usage },
        completedAt: "2026-11-23T09:00:08Z",
      }),
    ).toThrow(z.ZodError);
  });

  it("Job Failed needs an UPPER_SNAKE_CASE reason code", () => {
    const failed = {
      schemaVersion: 1,
      jobId: "job_01JABCDEFGHJK",
      reason: { code: "bad", message: "x" },
      failedAt: "2026-11-23T09:00:08Z",
    };
    expect(() => parseEventDetail("Job Failed", failed)).toThrow(/UPPER_SNAKE_CASE/);
    expect(
      parseEventDetail("Job Failed", { ...failed, reason: { code: "MODEL_OUTPUT_INVALID", message: "x" } }).reason.code,
    ).toBe("MODEL_OUTPUT_INVALID");
  });

  it("every Quire-emitted detail-type names quire.<service> sources only", () => {
    for (const [detailType, entry] of Object.entries(eventCatalog)) {
      if (detailType === "Document Submitted") continue; // upstream producers, any source
      for (const source of entry.sources) expect(source).toMatch(/^quire\.(ingestion|summarizer|classifier|notifier)$/);
    }
  });

  it("knows its detail-types", () => {
    expect(isDetailType("Run Completed")).toBe(true);
    expect(isDetailType("run.completed")).toBe(false);
  });
});

describe("ids", async () => {
  const { newJobId, newRunId, jobId, runId } = await import("../src/index.ts");
  it("new ids satisfy their own schemas and sort by creation time", async () => {
    const first = newJobId();
    await new Promise((r) => setTimeout(r, 2));
    const second = newJobId();
    expect(jobId.parse(first)).toBe(first);
    expect(runId.parse(newRunId())).toMatch(/^run_/);
    expect(first < second).toBe(true);
  });
});
