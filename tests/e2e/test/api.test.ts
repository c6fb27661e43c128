import { readFileSync } from "node:fs";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvents, ofType } from "./support/bus-spy.ts";
import { API_KEY, startPipeline, waitForJob, type Pipeline } from "./support/pipeline.ts";

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../samples/${name}.json`, import.meta.url), "utf8")) as {
    title: string;
    text: string;
    metadata: Record<string, string>;
  };

describe("submitting documents through the HTTP API", () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ bedrock: { timeScale: 0.05 } });
  });
  afterAll(() => pipeline.stop());

  it("an async submission answers 202 with a job id and completes with a summary and a classification", async () => {
    const response = await pipeline.request("/v1/documents", { json: sample("freight-invoice") });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { jobId: string; status: string; links: { self: string } };
    expect(accepted).toMatchObject({ status: "pending", links: { self: `/v1/jobs/${accepted.jobId}` } });
    const job = await waitForJob(pipeline, accepted.jobId);
    expect(job).toMatchObject({ status: "complete", classification: { label: "invoice" } });
    expect((job.summary as { text: string }).text.length).toBeGreaterThan(20);
  });

  it("sync mode (?wait=) returns both results in one response", async () => {
    const response = await pipeline.request("/v1/documents?wait=20", { json: sample("motion-to-dismiss") });
    expect(response.status).toBe(200);
    const job = (await response.json()) as Record<string, unknown>;
    expect(job).toMatchObject({ status: "complete", classification: { label: "court-filing" } });
    expect(job.summary).toMatchObject({ text: expect.any(String), promptVersion: expect.any(String) });
  });

  it("a 1 MiB document travels by claim check through S3 and completes", async () => {
    const base = sample("lease-agreement").text;
    const text = base.repeat(Math.ceil((1024 * 1024) / base.length));
    const response = await pipeline.request("/v1/documents", { json: { text, title: "Big lease" } });
    const { jobId } = (await response.json()) as { jobId: string };
    const job = await waitForJob(pipeline, jobId, 30_000);
    expect(job.error).toBeUndefined();
    expect(job.status).toBe("complete");
    const { Contents = [] } = await pipeline.clients.s3.send(
      new ListObjectsV2Command({ Bucket: pipeline.config.QUIRE_BUCKET_DOCUMENTS_NAME }),
    );
    expect(Contents.map((o) => o.Key)).toContain(`documents/${jobId}.txt`);
  });

  it("the same idempotency key answers with the job it created, and nothing new is submitted", async () => {
    const body = { ...sample("client-letter"), idempotencyKey: "upstream-123" };
    const first = (await (await pipeline.request("/v1/documents", { json: body })).json()) as { jobId: string };
    const second = (await (await pipeline.request("/v1/documents", { json: body })).json()) as { jobId: string };
    expect(second.jobId).toBe(first.jobId);
  });

  it("a Document Submitted event from an upstream system on the bus is accepted and processed", async () => {
    const { text, title } = sample("remote-work-policy");
    await pipeline.clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: pipeline.config.QUIRE_BUS_EVENTS_NAME,
            Source: "acme.dms",
            DetailType: "Document Submitted",
            Detail: JSON.stringify({ text, title }),
          },
        ],
      }),
    );
    const events = await collectEvents(pipeline, (seen) =>
      ofType(seen, "Job Completed").some((e) => e.detail.title === title),
    );
    expect(ofType(events, "Job Completed").find((e) => e.detail.title === title)?.detail).toMatchObject({
      classification: { label: "policy" },
    });
  });

  describe("bad requests get a specific 4xx and write nothing", () => {
    const errorOf = async (response: Response) => ({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
    });

    it("no API key → 401 UNAUTHORIZED; /health needs none", async () => {
      expect(await errorOf(await fetch(`${pipeline.api}/v1/documents`, { method: "POST" }))).toEqual({
        status: 401,
        code: "UNAUTHORIZED",
      });
      expect((await fetch(`${pipeline.api}/health`)).status).toBe(200);
    });

    it("malformed JSON → 400 MALFORMED_JSON", async () => {
      const response = await fetch(`${pipeline.api}/v1/documents`, {
        method: "POST",
        headers: { "x-api-key": API_KEY, "content-type": "application/json" },
        body: "{oops",
      });
      expect(await errorOf(response)).toEqual({ status: 400, code: "MALFORMED_JSON" });
    });

    it("missing text → 400 VALIDATION_FAILED naming the field", async () => {
      const response = await pipeline.request("/v1/documents", { json: { title: "no text" } });
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect([response.status, body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
      expect(body.error.message).toMatch(/^text:/);
    });

    it("a document over the size limit → 413", async () => {
      const response = await pipeline.request("/v1/documents", { json: { text: "x".repeat(10 * 1024 * 1024 + 1) } });
      expect(await errorOf(response)).toEqual({ status: 413, code: "DOCUMENT_TOO_LARGE" });
    });

    it("wait over 30 seconds → 400", async () => {
      expect(await errorOf(await pipeline.request("/v1/documents?wait=31", { json: { text: "hello" } }))).toEqual({
        status: 400,
        code: "VALIDATION_FAILED",
      });
    });

    it("an unknown job or run → 404 with its own code", async () => {
      expect(await errorOf(await pipeline.request("/v1/jobs/job_00000000000000000000000000"))).toEqual({
        status: 404,
        code: "JOB_NOT_FOUND",
      });
      expect(await errorOf(await pipeline.request("/v1/runs/run_00000000000000000000000000"))).toEqual({
        status: 404,
        code: "RUN_NOT_FOUND",
      });
    });

    it("a run with no documents → 400", async () => {
      expect(await errorOf(await pipeline.request("/v1/runs", { json: { documents: [] } }))).toEqual({
        status: 400,
        code: "VALIDATION_FAILED",
      });
    });
  });
});
