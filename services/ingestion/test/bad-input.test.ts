import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY, errorOf, publishedJobIds, startIngestion, type Ingestion } from "./support/harness.ts";

/** The documented bounds (packages/contracts METADATA_MAX_KEYS / METADATA_MAX_BYTES). */
const METADATA_MAX_KEYS = 50;
const METADATA_MAX_BYTES = 8 * 1024;

let ingestion: Ingestion;
beforeAll(async () => {
  ingestion = await startIngestion();
  ingestion.startConsumer();
});
afterAll(() => ingestion?.stop());

/**
 * A body sent exactly as written: `{"__proto__": …}` cannot be built as an object literal and survive JSON.stringify.
 */
const postRaw = (path: string, body: string) =>
  fetch(`${ingestion.api}${path}`, {
    method: "POST",
    headers: { "x-api-key": API_KEY, "content-type": "application/json" },
    body,
  });

const manyKeys = (count: number, valueLength: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`key${i}`, "v".repeat(valueLength)]));

async function itemCount(): Promise<number> {
  const { Count = 0 } = await ingestion.clients.dynamodb.send(
    new ScanCommand({ TableName: ingestion.config.QUIRE_TABLE_JOBS_NAME, Select: "COUNT", ConsistentRead: true }),
  );
  return Count;
}

/** Expects `act` to answer with `expected` and to leave no item in the jobs table and nothing on SNS. */
async function refusedWithNothingWritten(act: () => Promise<Response>, expected: { status: number; code: string }) {
  const items = await itemCount();
  const published = ingestion.snsCalls.length;
  const answer = await errorOf(await act());
  expect({ status: answer.status, code: answer.code }).toEqual(expected);
  expect(await itemCount()).toBe(items);
  expect(ingestion.snsCalls.length).toBe(published);
  return answer;
}

describe("metadata is bounded and checked before anything is written", () => {
  it.each(["constructor", "__proto__", "prototype"])(
    "a reserved key (%s) → 400 VALIDATION_FAILED naming it",
    async (name) => {
      const answer = await refusedWithNothingWritten(
        () => postRaw("/v1/documents", `{"text":"hello","metadata":{"${name}":"x","matter":"m-1"}}`),
        { status: 400, code: "VALIDATION_FAILED" },
      );
      expect(answer.message).toContain(`metadata.${name}`);
    },
  );

  it("600 keys × 1,000 chars → 400 METADATA_TOO_LARGE, and the idempotency key is still free", async () => {
    const key = "oversized-metadata-1";
    await refusedWithNothingWritten(
      () =>
        ingestion.request("/v1/documents", {
          json: { text: "hello", metadata: manyKeys(600, 1000), idempotencyKey: key },
        }),
      { status: 400, code: "METADATA_TOO_LARGE" },
    );
    const retry = await ingestion.request("/v1/documents", {
      json: { text: "hello", metadata: { matter: "m-1" }, idempotencyKey: key },
    });
    expect(retry.status).toBe(202);
  });

  it("metadata near EventBridge's 256 KB (240 keys × 1,000 chars) → 400 METADATA_TOO_LARGE, not a 500", async () => {
    await refusedWithNothingWritten(
      () => ingestion.request("/v1/documents", { json: { text: "hello", metadata: manyKeys(240, 1000) } }),
      { status: 400, code: "METADATA_TOO_LARGE" },
    );
  });

  it(`more than ${METADATA_MAX_KEYS} keys → 400 METADATA_TOO_LARGE; ${METADATA_MAX_KEYS} small ones are fine`, async () => {
    await refusedWithNothingWritten(
      () =>
        ingestion.request("/v1/documents", { json: { text: "hello", metadata: manyKeys(METADATA_MAX_KEYS + 1, 1) } }),
      { status: 400, code: "METADATA_TOO_LARGE" },
    );
    expect(
      (await ingestion.request("/v1/documents", { json: { text: "hello", metadata: manyKeys(METADATA_MAX_KEYS, 1) } }))
        .status,
    ).toBe(202);
  });

  it(`more than ${METADATA_MAX_BYTES} bytes of metadata JSON (9 values of 1,000 chars) → 400 METADATA_TOO_LARGE`, async () => {
    await refusedWithNothingWritten(
      () => ingestion.request("/v1/documents", { json: { text: "hello", metadata: manyKeys(9, 1000) } }),
      { status: 400, code: "METADATA_TOO_LARGE" },
    );
  });

  it("values stay flat scalars: an object → 400 VALIDATION_FAILED naming the key", async () => {
    const answer = await refusedWithNothingWritten(
      () => ingestion.request("/v1/documents", { json: { text: "hello", metadata: { nested: { a: 1 } } } }),
      { status: 400, code: "VALIDATION_FAILED" },
    );
    expect(answer.message).toContain("metadata.nested");
  });

  it("a value nested 10,000 deep → 400 VALIDATION_FAILED naming the key, not a 500", async () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const answer = await refusedWithNothingWritten(
      () => postRaw("/v1/documents", `{"text":"hello","metadata":{"nested":${deep}}}`),
      { status: 400, code: "VALIDATION_FAILED" },
    );
    expect(answer.message).toContain("metadata.nested");
  });

  it("numbers DynamoDB cannot hold (5e-324, 2^60) → 400 VALIDATION_FAILED naming the key, not a 500", async () => {
    for (const value of ["5e-324", "-5e-324", "1152921504606846976", "1e300"]) {
      const answer = await refusedWithNothingWritten(
        () => postRaw("/v1/documents", `{"text":"hello","metadata":{"amount":${value}}}`),
        { status: 400, code: "VALIDATION_FAILED" },
      );
      expect(answer.message, value).toContain("metadata.amount");
    }
  });

  it("a run with one bad document is refused whole, naming the document, and writes no run and no job", async () => {
    const answer = await refusedWithNothingWritten(
      () =>
        postRaw(
          "/v1/runs",
          `{"documents":[{"text":"one"},{"text":"two","metadata":{"constructor":"x"}},{"text":"three"}]}`,
        ),
      { status: 400, code: "VALIDATION_FAILED" },
    );
    expect(answer.message).toContain("documents.1.metadata.constructor");
    await refusedWithNothingWritten(
      () =>
        ingestion.request("/v1/runs", {
          json: { documents: [{ text: "one" }, { text: "two", metadata: manyKeys(600, 1000) }] },
        }),
      { status: 400, code: "METADATA_TOO_LARGE" },
    );
  });
});

describe("a run whose writes fail leaves nothing behind", () => {
  it("a job write failing mid-run answers 5xx and leaves no run and none of its jobs waiting", async () => {
    const items = await itemCount();
    const published = ingestion.snsCalls.length;
    ingestion.faults.jobWrite = 1;
    const documents = Array.from({ length: 12 }, (_, i) => ({ text: `run document ${i}` }));
    expect((await ingestion.request("/v1/runs", { json: { documents } })).status).toBeGreaterThanOrEqual(500);
    expect(await itemCount()).toBe(items);
    expect(ingestion.snsCalls.length).toBe(published);
  });
});

describe("an idempotency key is released when its submission fails", () => {
  it("a failed job write answers 5xx, and a retry with the key is accepted (not 409 for 24 h)", async () => {
    const body = { text: "job write fails once", idempotencyKey: "job-write-fails-1" };
    ingestion.faults.jobWrite = 1;
    expect((await ingestion.request("/v1/documents", { json: body })).status).toBeGreaterThanOrEqual(500);
    const retry = await ingestion.request("/v1/documents", { json: body });
    expect(retry.status).toBe(202);
    const { jobId, status } = (await retry.json()) as { jobId: string; status: string };
    expect(status).toBe("pending");
    expect(publishedJobIds(ingestion.snsCalls)).toContain(jobId);
  });

  it("a retried PUBLISH_FAILED submission publishes again and its job is pending, not the failed one", async () => {
    const body = { text: "publish fails once", title: "retry me", idempotencyKey: "publish-fails-1" };
    ingestion.faults.publish = 1;
    const failed = await errorOf(await ingestion.request("/v1/documents", { json: body }));
    expect(failed).toMatchObject({ status: 503, code: "PUBLISH_FAILED" });

    const published = ingestion.snsCalls.length;
    const retry = await ingestion.request("/v1/documents", { json: body });
    expect(retry.status).toBe(202);
    const job = (await retry.json()) as { jobId: string; status: string };
    expect(job.status).toBe("pending");
    expect(publishedJobIds(ingestion.snsCalls.slice(published))).toEqual([job.jobId]);
    expect(await (await ingestion.request(`/v1/jobs/${job.jobId}`)).json()).toMatchObject({ status: "pending" });

    // From now on the key answers with that job, and nothing more is published.
    const again = (await (await ingestion.request("/v1/documents", { json: body })).json()) as { jobId: string };
    expect(again.jobId).toBe(job.jobId);
    expect(ingestion.snsCalls.length).toBe(published + 1);
  });

  it("the same key with a different body → 409 IDEMPOTENCY_KEY_REUSED; the same body → the same job", async () => {
    const body = { text: "first body", metadata: { matter: "m-1" }, idempotencyKey: "reused-key-1" };
    const first = (await (await ingestion.request("/v1/documents", { json: body })).json()) as { jobId: string };
    for (const changed of [
      { ...body, text: "second body" },
      { ...body, title: "a title now" },
      { ...body, metadata: { matter: "m-2" } },
    ]) {
      expect(await errorOf(await ingestion.request("/v1/documents", { json: changed }))).toMatchObject({
        status: 409,
        code: "IDEMPOTENCY_KEY_REUSED",
      });
    }
    // Key order in metadata is not a different body.
    const same = (await (
      await ingestion.request("/v1/documents", {
        json: { idempotencyKey: body.idempotencyKey, metadata: body.metadata, text: body.text },
      })
    ).json()) as { jobId: string };
    expect(same.jobId).toBe(first.jobId);
  });
});

describe("?wait= is an integer from 1 to 30", () => {
  it.each(["", "0x1", "1.5", "-1", "+5", "1e1", "%205", "0", "abc", "31", "1&wait=2"])(
    "wait=%s → 400 VALIDATION_FAILED naming wait, nothing submitted",
    async (value) => {
      const answer = await refusedWithNothingWritten(
        () => ingestion.request(`/v1/documents?wait=${value}`, { json: { text: "hello" } }),
        { status: 400, code: "VALIDATION_FAILED" },
      );
      expect(answer.message).toMatch(/^wait\b/);
    },
  );

  it("wait=1 is sync mode: the interactive lane, 202 once the second is up", async () => {
    const published = ingestion.snsCalls.length;
    const response = await ingestion.request("/v1/documents?wait=1", { json: { text: "hello" } });
    expect(response.status).toBe(202);
    const call = ingestion.snsCalls[published];
    expect(call?.command === "PublishCommand" && call.input.MessageAttributes?.priority?.StringValue).toBe(
      "interactive",
    );
  });
});

describe("Document Submitted from the bus: a bad one goes to the DLQ with the reason", () => {
  const seen: Message[] = [];
  /** Drains ingestion's DLQ until a message whose body contains `marker` arrives. */
  async function deadLettered(marker: string, timeoutMs = 15_000): Promise<Message | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = seen.find((m) => m.Body?.includes(marker));
      if (found || Date.now() > deadline) return found;
      const { Messages = [] } = await ingestion.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: ingestion.config.QUIRE_DLQ_INGESTION_URL,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      for (const m of Messages) {
        seen.push(m);
        await ingestion.clients.sqs.send(
          new DeleteMessageCommand({
            QueueUrl: ingestion.config.QUIRE_DLQ_INGESTION_URL,
            ReceiptHandle: m.ReceiptHandle!,
          }),
        );
      }
    }
  }
  const put = (detail: unknown, source = "acme.dms") =>
    ingestion.clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: ingestion.config.QUIRE_BUS_EVENTS_NAME,
            Source: source,
            DetailType: "Document Submitted",
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
  const failure = (message: Message | undefined) => ({
    code: message?.MessageAttributes?.["quire.failure.code"]?.StringValue,
    message: message?.MessageAttributes?.["quire.failure.message"]?.StringValue ?? "",
  });

  it("a source QUIRE_EXTERNAL_SOURCES does not list → SOURCE_NOT_ALLOWED, nothing published", async () => {
    const published = ingestion.snsCalls.length;
    await put({ text: "bus document from a stranger" }, "mallory.example");
    const reason = failure(await deadLettered("bus document from a stranger"));
    expect(reason.code).toBe("SOURCE_NOT_ALLOWED");
    expect(reason.message).toContain("mallory.example");
    expect(ingestion.snsCalls.length).toBe(published);
  });

  it("a reserved metadata key → SCHEMA_VIOLATION naming it, at once", async () => {
    await put({ text: "bus document with a reserved key", metadata: { constructor: "x" } });
    const reason = failure(await deadLettered("bus document with a reserved key"));
    expect(reason.code).toBe("SCHEMA_VIOLATION");
    expect(reason.message).toContain("metadata.constructor");
  });

  it("metadata over the bounds → SCHEMA_VIOLATION, nothing published", async () => {
    const published = ingestion.snsCalls.length;
    await put({ text: "bus document with big metadata", metadata: manyKeys(100, 1000) });
    const reason = failure(await deadLettered("bus document with big metadata"));
    expect(reason.code).toBe("SCHEMA_VIOLATION");
    expect(reason.message).toContain("metadata");
    expect(ingestion.snsCalls.length).toBe(published);
  });

  it("an idempotency key reused with another document → IDEMPOTENCY_KEY_REUSED", async () => {
    await put({ text: "the first bus document", idempotencyKey: "bus-key-1" });
    await put({ text: "another bus document, same key", idempotencyKey: "bus-key-1" });
    const reason = failure(await deadLettered("another bus document, same key"));
    expect(reason.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });
});
