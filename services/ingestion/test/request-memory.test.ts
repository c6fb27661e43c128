/**
 * What bounds ingestion's memory, through the real HTTP API: one run's body
 * (QUIRE_MAX_RUN_BODY_BYTES, 413) and all bodies held at once (QUIRE_MAX_INFLIGHT_BODY_BYTES,
 * 429 BUSY with Retry-After), refused before anything is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY, startIngestion, type Ingestion } from "./support/harness.ts";

const KiB = 1024;
let ingestion: Ingestion;
beforeAll(async () => {
  ingestion = await startIngestion({
    env: { QUIRE_MAX_RUN_BODY_BYTES: String(256 * KiB), QUIRE_MAX_INFLIGHT_BODY_BYTES: String(300 * KiB) },
  });
});
afterAll(() => ingestion?.stop());

const runOf = (bytes: number) => JSON.stringify({ documents: [{ text: "x".repeat(bytes - 40) }] });
const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

/** A POST /v1/runs whose body arrives in two halves: the second only when `finish` is called. */
function slowRun(body: string, options: { chunked?: boolean } = {}) {
  const bytes = Buffer.from(body);
  let finish!: () => void;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 1024));
      finish = () => {
        controller.enqueue(bytes.subarray(1024));
        controller.close();
      };
    },
  });
  const response = fetch(`${ingestion.api}/v1/runs`, {
    method: "POST",
    headers: {
      "x-api-key": API_KEY,
      "content-type": "application/json",
      ...(options.chunked ? {} : { "content-length": String(bytes.length) }),
    },
    body: stream,
    duplex: "half",
  } as RequestInit);
  return { response, finish: () => finish() };
}

describe("request memory bounds", () => {
  it("a run body over QUIRE_MAX_RUN_BODY_BYTES is refused 413 PAYLOAD_TOO_LARGE, and no job is made", async () => {
    ingestion.snsCalls.length = 0;
    const response = await ingestion.request("/v1/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: runOf(300 * KiB),
    });
    expect(response.status).toBe(413);
    expect(await codeOf(response)).toBe("PAYLOAD_TOO_LARGE");
    expect(ingestion.snsCalls).toEqual([]);
  });

  it("while bodies in flight fill QUIRE_MAX_INFLIGHT_BODY_BYTES, another large one gets 429 BUSY with Retry-After; once they finish it is taken", async () => {
    const first = slowRun(runOf(200 * KiB));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await ingestion.request("/v1/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: runOf(200 * KiB),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await codeOf(refused)).toBe("BUSY");
    // Small requests still pass: they fit beside it.
    expect((await ingestion.request("/v1/documents", { json: { text: "small" } })).status).toBe(202);

    first.finish();
    expect((await first.response).status).toBe(202);
    const retried = await ingestion.request("/v1/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: runOf(200 * KiB),
    });
    expect(retried.status).toBe(202);
  });

  it("a chunked body (no Content-Length) counts at the route's whole limit before it is read: a second one waits its turn", async () => {
    const first = slowRun(runOf(200 * KiB), { chunked: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = slowRun(runOf(100 * KiB), { chunked: true });
    // The refused body is read to its end and dropped, then answered.
    setTimeout(() => second.finish(), 100);
    const refused = await second.response;
    expect(refused.status).toBe(429);
    expect(await codeOf(refused)).toBe("BUSY");
    first.finish();
    expect((await first.response).status).toBe(202);
  });
});
