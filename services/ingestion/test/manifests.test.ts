import { runDocumentJobId } from "@quire/contracts";
import { describe, expect, it } from "vitest";
import { ManifestLineTooLongError, ndjsonLines } from "../src/manifests.ts";

async function* chunks(...parts: string[]) {
  for (const part of parts) yield Buffer.from(part);
}
const collect = async <T>(lines: AsyncIterable<T>) => {
  const all: T[] = [];
  for await (const line of lines) all.push(line);
  return all;
};

describe("a manifest's lines", () => {
  it("are read with their byte offsets, whatever the chunking: LF or CRLF, blank lines skipped but counted, a last line without a newline", async () => {
    const lines = await collect(
      ndjsonLines(chunks('{"a":1}\r', '\n\n{"b":"é"', "}\n", '{"c":3}'), { maxLineBytes: 100 }),
    );
    expect(lines).toEqual([
      { line: 1, text: '{"a":1}', start: 0, next: 9 },
      { line: 3, text: '{"b":"é"}', start: 10, next: 21 },
      { line: 4, text: '{"c":3}', start: 21, next: 28 },
    ]);
  });

  it("resume at a byte offset with the right line numbers", async () => {
    const lines = await collect(ndjsonLines(chunks('{"c":3}\n'), { startByte: 21, firstLine: 4, maxLineBytes: 100 }));
    expect(lines).toEqual([{ line: 4, text: '{"c":3}', start: 21, next: 29 }]);
  });

  it("are yielded as the stream arrives, not after it ends (a manifest is never held whole)", async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield Buffer.from(`{"n":${produced}}\n`);
      }
    }
    for await (const line of ndjsonLines(endless(), { maxLineBytes: 100 })) {
      expect(line.text).toBe('{"n":1}');
      break;
    }
    expect(produced).toBe(1);
  });

  it("refuse a line longer than the limit instead of buffering it", async () => {
    await expect(collect(ndjsonLines(chunks("x".repeat(50), "y".repeat(60)), { maxLineBytes: 100 }))).rejects.toThrow(
      ManifestLineTooLongError,
    );
  });
});

describe("a manifest run's job ids", () => {
  it("are the same for the same run and line, differ across runs, and sort by line", () => {
    const run = "run_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7";
    expect(runDocumentJobId(run, 7)).toBe(runDocumentJobId(run, 7));
    expect(runDocumentJobId(run, 7)).not.toBe(runDocumentJobId("run_01J9Z3K4W8Q2R5T7V9X1Y3Z5A8", 7));
    const ids = [0, 1, 31, 32, 999, 99_999].map((i) => runDocumentJobId(run, i));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^job_[0-9A-Za-z]{26}$/);
  });
});
