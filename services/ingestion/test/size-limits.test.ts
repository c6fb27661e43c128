import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishedJobIds, snsEntryBytes, startIngestion, type Ingestion, type SnsCall } from "./support/harness.ts";

/** SNS: one message with its attributes, and a whole PublishBatch request, at most 256 KiB. */
const SNS_LIMIT = 262_144;

const batchCalls = (calls: SnsCall[]) => calls.filter((call) => call.command === "PublishBatchCommand");
const batchBytes = (call: SnsCall & { command: "PublishBatchCommand" }) =>
  (call.input.PublishBatchRequestEntries ?? []).reduce((sum, entry) => sum + snsEntryBytes(entry), 0);

async function jobOf(ingestion: Ingestion, jobId: string) {
  return (await (await ingestion.request(`/v1/jobs/${jobId}`)).json()) as { status: string; error?: unknown };
}

describe("SNS size limits: every message and every PublishBatch fits 256 KiB", () => {
  let ingestion: Ingestion;
  beforeAll(async () => {
    ingestion = await startIngestion();
  });
  afterAll(() => ingestion?.stop());

  it("a run of 10 documents of ~200 KiB goes out in several PublishBatch calls, each ≤ 256 KiB, and none fails", async () => {
    ingestion.snsCalls.length = 0;
    // Just under the 200 KiB claim-check threshold: each one travels inline.
    const documents = Array.from({ length: 10 }, (_, i) => ({
      text: `${i} `.padEnd(200 * 1024 - 64, "lorem ipsum "),
      title: `big ${i}`,
    }));
    const response = await ingestion.request("/v1/runs", { json: { documents } });
    expect(response.status).toBe(202);
    const { jobIds } = (await response.json()) as { jobIds: string[] };

    const calls = batchCalls(ingestion.snsCalls) as (SnsCall & { command: "PublishBatchCommand" })[];
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) {
      expect(call.input.PublishBatchRequestEntries!.length).toBeLessThanOrEqual(10);
      expect(batchBytes(call)).toBeLessThanOrEqual(SNS_LIMIT);
    }
    // Every document published exactly once, in submission order.
    expect(publishedJobIds(ingestion.snsCalls)).toEqual(jobIds);
    for (const jobId of jobIds) expect(await jobOf(ingestion, jobId)).toMatchObject({ status: "pending" });
  });

  it("entries are packed in order up to 256 KiB and 10 per call: two of ~100 KiB fill a call by bytes, small ones by count", async () => {
    ingestion.snsCalls.length = 0;
    const medium = Array.from({ length: 4 }, (_, i) => ({ text: `${i} `.padEnd(100 * 1024, "dolor sit ") }));
    const small = Array.from({ length: 12 }, (_, i) => ({ text: `small document ${i}` }));
    const response = await ingestion.request("/v1/runs", { json: { documents: [...medium, ...small] } });
    expect(response.status).toBe(202);
    const calls = batchCalls(ingestion.snsCalls) as (SnsCall & { command: "PublishBatchCommand" })[];
    expect(calls.map((call) => call.input.PublishBatchRequestEntries!.length)).toEqual([2, 10, 4]);
    for (const call of calls) expect(batchBytes(call)).toBeLessThanOrEqual(SNS_LIMIT);
  });

  it("200 KiB of U+0001 (1.2 MB once JSON-escaped) is accepted and travels by claim check", async () => {
    ingestion.snsCalls.length = 0;
    const text = "\u0001".repeat(200 * 1024);
    const response = await ingestion.request("/v1/documents", { json: { text, title: "control characters" } });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };

    const [call] = ingestion.snsCalls;
    expect(call?.command).toBe("PublishCommand");
    const input = (call as SnsCall & { command: "PublishCommand" }).input;
    expect(snsEntryBytes(input)).toBeLessThanOrEqual(SNS_LIMIT);
    const message = JSON.parse(input.Message!) as {
      jobId: string;
      document: { kind: string; bucket: string; key: string };
    };
    expect(message).toMatchObject({ jobId, document: { kind: "s3", key: `documents/${jobId}.txt` } });
    const stored = await ingestion.clients.s3.send(
      new GetObjectCommand({ Bucket: message.document.bucket, Key: message.document.key }),
    );
    expect(await stored.Body!.transformToString()).toBe(text);
    expect(await jobOf(ingestion, jobId)).toMatchObject({ status: "pending" });
  });

  it("in a run, escaped text that would not fit inline goes by claim check too", async () => {
    ingestion.snsCalls.length = 0;
    const documents = [{ text: '"'.repeat(150 * 1024) }, { text: "plain" }];
    const response = await ingestion.request("/v1/runs", { json: { documents } });
    expect(response.status).toBe(202);
    const entries = batchCalls(ingestion.snsCalls).flatMap(
      (call) => (call as SnsCall & { command: "PublishBatchCommand" }).input.PublishBatchRequestEntries!,
    );
    expect(
      entries.map((entry) => (JSON.parse(entry.Message!) as { document: { kind: string } }).document.kind),
    ).toEqual(["s3", "inline"]);
  });
});

describe("the claim check is decided by the encoded message, whatever QUIRE_CLAIM_CHECK_BYTES says", () => {
  let ingestion: Ingestion;
  beforeAll(async () => {
    ingestion = await startIngestion({ env: { QUIRE_CLAIM_CHECK_BYTES: String(1024 * 1024) } });
  });
  afterAll(() => ingestion?.stop());

  it("a document 64 bytes under 256 KiB, under a 1 MiB threshold, still goes by claim check: inline, the message would pass 256 KiB", async () => {
    const response = await ingestion.request("/v1/documents", {
      json: { text: "a".repeat(256 * 1024 - 64), metadata: { matter: "m-1" } },
    });
    expect(response.status).toBe(202);
    const input = (ingestion.snsCalls.at(-1) as SnsCall & { command: "PublishCommand" }).input;
    expect(snsEntryBytes(input)).toBeLessThanOrEqual(SNS_LIMIT);
    expect((JSON.parse(input.Message!) as { document: { kind: string } }).document.kind).toBe("s3");
  });

  it("a 250 KiB document stays inline: the message fits", async () => {
    const response = await ingestion.request("/v1/documents", { json: { text: "a".repeat(250 * 1024) } });
    expect(response.status).toBe(202);
    const input = (ingestion.snsCalls.at(-1) as SnsCall & { command: "PublishCommand" }).input;
    expect((JSON.parse(input.Message!) as { document: { kind: string } }).document.kind).toBe("inline");
  });
});
