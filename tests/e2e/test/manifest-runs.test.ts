/**
 * Runs too large for a request body: a manifest uploaded to S3 with a presigned URL, checked and
 * counted as it streams, expanded into jobs a chunk at a time by ingestion's runManifests consumer.
 */
import { afterEach, describe, expect, it } from "vitest";
import { collectEvents, ofType } from "./support/bus-spy.ts";
import { startPipeline, type Pipeline } from "./support/pipeline.ts";

interface Upload {
  manifestId: string;
  upload: { method: "PUT"; url: string; expiresAt: string };
}

async function uploadManifest(pipeline: Pipeline, body: string): Promise<string> {
  const response = await pipeline.request("/v1/manifests", { method: "POST" });
  expect(response.status).toBe(201);
  const { manifestId, upload } = (await response.json()) as Upload;
  // Straight to S3 (devcloud's), as a client would: no API key, the URL is the permission.
  const put = await fetch(upload.url, { method: upload.method, body });
  expect(put.status).toBe(200);
  return manifestId;
}

const line = (i: number) =>
  JSON.stringify({ text: `INVOICE number ${i}. Amount due ${i}.00. Net 30.`, title: `doc ${i}` });

describe("runs from a manifest", () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.stop();
    pipeline = undefined;
  });

  it("700 documents uploaded as NDJSON (two chunks) run as one run: every job completed once, one Run Completed, the jobs in manifest order", async () => {
    pipeline = await startPipeline({ bedrock: { timeScale: 0.01 } });
    // CRLF and LF line ends, blank lines, no newline at the end: all NDJSON.
    const lines = Array.from({ length: 700 }, (_, i) => line(i));
    const body = `${lines.slice(0, 350).join("\r\n")}\r\n\n${lines.slice(350).join("\n")}`;
    const manifest = await uploadManifest(pipeline, body);

    const response = await pipeline.request("/v1/runs", { json: { manifest } });
    expect(response.status).toBe(202);
    const submitted = (await response.json()) as { runId: string; total: number; jobIds?: string[] };
    expect(submitted.total).toBe(700);
    expect(submitted.jobIds).toBeUndefined();

    const events = await collectEvents(
      pipeline,
      (seen) => ofType(seen, "Run Completed").length > 0 && ofType(seen, "Job Completed").length >= 700,
      150_000,
    );
    events.push(...(await collectEvents(pipeline, () => false, 1500)));
    const completed = ofType(events, "Job Completed").map((e) => e.detail.jobId as string);
    expect(completed).toHaveLength(700);
    expect(new Set(completed).size).toBe(700);
    const runCompleted = ofType(events, "Run Completed");
    expect(runCompleted).toHaveLength(1);
    expect(runCompleted[0]!.detail).toMatchObject({ runId: submitted.runId, total: 700, completed: 700, failed: 0 });

    const titles: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await (
        await pipeline.request(`/v1/runs/${submitted.runId}/jobs?limit=200${cursor ? `&cursor=${cursor}` : ""}`)
      ).json()) as { jobs: { title: string }[]; nextCursor?: string };
      titles.push(...page.jobs.map((job) => job.title));
      cursor = page.nextCursor;
    } while (cursor);
    expect(titles).toEqual(Array.from({ length: 700 }, (_, i) => `doc ${i}`));
  }, 180_000);

  it("a bad line refuses the whole run, naming the line, before anything is written; an unknown manifest is 404; a run names documents or a manifest, not both", async () => {
    pipeline = await startPipeline({ workers: false });
    const bad = await uploadManifest(pipeline, `${line(0)}\n${line(1)}\n{"text":""}\n${line(3)}\n`);
    const refused = await pipeline.request("/v1/runs", { json: { manifest: bad } });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toEqual({
      code: "MANIFEST_INVALID",
      message: "manifest line 3: text: text must not be empty",
    });
    const notJson = await uploadManifest(pipeline, `${line(0)}\n{"text": "unterminated\n`);
    const notJsonAnswer = (await (await pipeline.request("/v1/runs", { json: { manifest: notJson } })).json()) as {
      error: { message: string };
    };
    expect(notJsonAnswer.error.message).toBe("manifest line 2: not JSON");
    const runs = (await (await pipeline.request("/v1/runs")).json()) as { runs: unknown[] };
    expect(runs.runs).toEqual([]);

    const unknown = await pipeline.request("/v1/runs", { json: { manifest: "mfs_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7" } });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("MANIFEST_NOT_FOUND");

    const both = await pipeline.request("/v1/runs", { json: { manifest: bad, documents: [{ text: "x" }] } });
    expect(both.status).toBe(400);
    expect(((await both.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
  });

  it("100,000 documents are checked and counted as they stream by: the run is accepted with its total and planned from the counts, and reads as fast as a small one", async () => {
    pipeline = await startPipeline({ workers: false, env: { QUIRE_BEDROCK_RPM: "2000" } });
    const manifest = await uploadManifest(
      pipeline,
      `${Array.from({ length: 100_000 }, (_, i) => JSON.stringify({ text: `Document ${i}.` })).join("\n")}\n`,
    );
    const response = await pipeline.request("/v1/runs", { json: { manifest, deadline: "P2D" } });
    expect(response.status).toBe(202);
    const submitted = (await response.json()) as {
      runId: string;
      total: number;
      plan: { feasible: boolean; expectedSeconds: number };
    };
    expect(submitted.total).toBe(100_000);
    // 200,000 calls at 2,000 a minute: 100 minutes, from the counted documents.
    expect(submitted.plan.feasible).toBe(true);
    expect(submitted.plan.expectedSeconds).toBeGreaterThanOrEqual(6000);
    const run = (await (await pipeline.request(`/v1/runs/${submitted.runId}`)).json()) as {
      counts: { total: number; pending: number };
    };
    expect(run.counts.total).toBe(100_000);
    // One more document than a manifest may hold is refused, as it streams by.
    const tooMany = await uploadManifest(
      pipeline,
      Array.from({ length: 100_001 }, (_, i) => JSON.stringify({ text: `D${i}` })).join("\n"),
    );
    const refused = await pipeline.request("/v1/runs", { json: { manifest: tooMany } });
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("MANIFEST_TOO_LARGE");
  }, 120_000);
});
