import { newJobId, SCHEMA_VERSION, type DocumentSubmitted } from "@quire/contracts";
import { describe, expect, it } from "vitest";
import {
  encodeDocumentSubmitted,
  fitsInline,
  packBatches,
  snsMessageBytes,
  SNS_MAX_BATCH_BYTES,
  type EncodedMessage,
} from "../src/document-publisher.ts";

const message = (text: string, extra: Partial<DocumentSubmitted> = {}): DocumentSubmitted => ({
  schemaVersion: SCHEMA_VERSION,
  type: "document.submitted",
  jobId: newJobId(),
  submittedAt: "2026-11-29T08:00:00.000Z",
  contentSha256: "a".repeat(64),
  document: { kind: "inline", text },
  stages: ["summary", "classification"],
  priority: "bulk",
  ...extra,
});
/** A stand-in of a given SNS size, for packing alone. */
const sized = (bytes: number): EncodedMessage => ({ ...encodeDocumentSubmitted(message("x")), bytes });

describe("SNS message size, as SNS counts it", () => {
  it("is the body's UTF-8 bytes plus each attribute's name, data type and value", () => {
    expect(
      snsMessageBytes("héllo", {
        type: { DataType: "String", StringValue: "document.submitted" },
        n: { DataType: "Number", StringValue: "12" },
      }),
    ).toBe(6 + (4 + 6 + 18) + (1 + 6 + 2));
    const encoded = encodeDocumentSubmitted(message("hello"));
    expect(encoded.bytes).toBe(
      Buffer.byteLength(encoded.body) +
        "type".length +
        "String".length +
        "document.submitted".length +
        "priority".length +
        "String".length +
        "bulk".length,
    );
  });

  it("decides inline by the encoded message: escapes count, the threshold only lowers the bar", () => {
    expect(fitsInline(message("a".repeat(200 * 1024)), 200 * 1024)).toBe(true);
    expect(fitsInline(message("\u0001".repeat(50 * 1024)), 200 * 1024)).toBe(false); // 300 KiB escaped
    expect(fitsInline(message("a".repeat(256 * 1024)), 1024 * 1024)).toBe(false);
    expect(fitsInline(message("a".repeat(1024)), 512)).toBe(false);
  });
});

describe("packing PublishBatch calls", () => {
  it("keeps order and closes a batch at 10 entries or 256 KiB, whichever comes first", () => {
    const sizes = [100_000, 100_000, 100_000, ...Array.from({ length: 12 }, () => 1_000), 262_144, 1];
    const batches = packBatches(sizes.map(sized));
    expect(batches.map((b) => b.map((m) => m.bytes))).toEqual([
      [100_000, 100_000],
      [100_000, ...Array.from({ length: 9 }, () => 1_000)],
      Array.from({ length: 3 }, () => 1_000),
      [262_144],
      [1],
    ]);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(10);
      expect(batch.reduce((sum, m) => sum + m.bytes, 0)).toBeLessThanOrEqual(SNS_MAX_BATCH_BYTES);
    }
  });

  it("gives a message over the limit a batch of its own (for SNS to refuse), never one shared", () => {
    expect(packBatches([sized(10), sized(300_000), sized(10)]).map((b) => b.length)).toEqual([1, 1, 1]);
    expect(packBatches([])).toEqual([]);
  });
});
