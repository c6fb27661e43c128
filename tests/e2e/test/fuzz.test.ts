import { ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeConnections,
  documentedCodes,
  type FuzzRequest,
  IdPool,
  idPatterns,
  matchOperation,
  type OpenApiDocument,
  type Operation,
  operationsOf,
  type RawAnswer,
  requestsFor,
  sendRaw,
} from "./support/fuzz/index.ts";
import { type ApiName, describeViolation, documents } from "./support/openapi.ts";
import { API_KEY, startPipeline, type Pipeline } from "./support/pipeline.ts";

/**
 * Property-based fuzzing of both real HTTP APIs (ingestion and notifier, on real ports, over
 * devcloud): requests generated from their committed OpenAPI documents, valid and hostile
 * (support/fuzz). Every answer is one the operation documents, never a 5xx; afterwards both
 * APIs are healthy and every record in the stores was answered for.
 *
 * Budget: QUIRE_FUZZ_RUNS requests per API (default 300: a few seconds each on 2 cores); a
 * failure prints its seed, and QUIRE_FUZZ_SEED=<seed> runs that sequence again (the stores'
 * state makes a replay close, not exact).
 */
const RUNS = Number(process.env.QUIRE_FUZZ_RUNS ?? 300);
/** QUIRE_FUZZ_COLLECT=1: keep going past a failure and report every distinct one at the end (no shrinking). */
const COLLECT = process.env.QUIRE_FUZZ_COLLECT === "1";
const SEED = process.env.QUIRE_FUZZ_SEED ? Number(process.env.QUIRE_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
/**
 * Each API's share of the time: past it the run stops early and passes with what it sent (a
 * failing run, while shrinking with more real requests, reports the smallest failure so far).
 * A longer local run (QUIRE_FUZZ_RUNS) is not cut short.
 */
const TIME_LIMIT_MS = process.env.QUIRE_FUZZ_RUNS ? 60 * 60_000 : 30_000;

/** What the creating operations answered 2xx for: every record in the stores must be one of these. */
const answered = {
  jobs: new Set<string>(),
  runs: new Set<string>(),
  keys: new Set<string>(),
  subscriptions: new Set<string>(),
};

function recordCreated(operationId: string, status: number, body: unknown): void {
  if (status < 200 || status > 299 || body === null || typeof body !== "object") return;
  const answer = body as Record<string, unknown>;
  switch (operationId) {
    case "submitDocument":
      answered.jobs.add(String(answer.jobId));
      break;
    case "submitRun":
      answered.runs.add(String(answer.runId));
      for (const jobId of answer.jobIds as string[]) answered.jobs.add(jobId);
      break;
    case "createApiKey":
    case "rotateApiKey":
      answered.keys.add(String(answer.keyId));
      break;
    case "createSubscription":
      answered.subscriptions.add(String(answer.id));
      break;
  }
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const errorCode = (body: unknown) => (body as { error?: { code?: unknown } } | undefined)?.error?.code;

/**
 * What is wrong with an answer, if anything: no answer, a 5xx the operation does not document,
 * a status or `error.code` it does not document, a body off its response schema (the e2e
 * suite's validator); on a route no operation documents, anything but 404 NOT_FOUND (under
 * /v1, 401 UNAUTHORIZED, 413 PAYLOAD_TOO_LARGE and 429 RATE_LIMITED come first).
 */
function judge(api: ApiName, operation: Operation | undefined, method: string, pathname: string, answer: RawAnswer) {
  if (answer.error) return `no answer: ${answer.error}`;
  const body = parse(answer.body);
  const code = errorCode(body);
  if (answer.status >= 500) {
    const documented = operation && documentedCodes(operation, answer.status)?.includes(String(code));
    if (!(answer.status === 503 && documented)) return `a ${answer.status} (${String(code)})`;
  }
  if (!operation) {
    const allowed = [
      "404 NOT_FOUND",
      ...(pathname.startsWith("/v1") ? ["401 UNAUTHORIZED", "413 PAYLOAD_TOO_LARGE", "429 RATE_LIMITED"] : []),
    ];
    const got = `${answer.status} ${String(code)}`;
    if (!allowed.includes(got)) return `an undocumented route answered ${got}, not ${allowed.join(" or ")}`;
    if (typeof (body as { error?: { message?: unknown } }).error?.message !== "string")
      return "an undocumented route answered without { error: { code, message } }";
    return undefined;
  }
  return describeViolation(api, method, pathname, answer.status, answer.contentType, answer.body);
}

describe("fuzzing both HTTP APIs with requests generated from their OpenAPI documents", () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    console.info(`fuzz: seed ${SEED}, ${RUNS} requests per API (QUIRE_FUZZ_SEED, QUIRE_FUZZ_RUNS)`);
    pipeline = await startPipeline({
      bedrock: { timeScale: 0.05 },
      env: {
        // The fuzzer is one key sending as fast as it can: its requests must reach the routes, not the rate limit.
        QUIRE_KEY_REQUESTS_PER_SECOND: "100000",
        QUIRE_KEY_BURST: "100000",
        // Webhook subscriptions it makes point at public addresses this machine cannot reach.
        QUIRE_WEBHOOK_TIMEOUT_MS: "1000",
      },
    });
  });
  afterAll(async () => {
    closeConnections();
    await pipeline?.stop();
  });

  for (const [api, seedOffset] of [
    ["ingestion", 0],
    ["notifier", 1],
  ] as const) {
    it(
      `${api}: every answer is documented (status, error code, body), and none is a 5xx`,
      async () => {
        const base = api === "ingestion" ? pipeline.api : pipeline.notifierApi;
        const document = documents[api] as unknown as OpenApiDocument;
        const operations = operationsOf(document);
        const pool = new IdPool(idPatterns(document));
        const requests = requestsFor(document, {
          apiKey: API_KEY,
          // ?wait= holds the request until the job is done, up to 30 s: 1 or 2 keep the budget.
          validParameters: { "query.wait": fc.constantFrom("1", "2") },
        });
        const statuses = new Map<string, number>();
        const findings = new Map<string, string>();
        await fc.assert(
          fc.asyncProperty(requests, async (request: FuzzRequest) => {
            const target = request.target((id) => pool.pick(id));
            const answer = await sendRaw(base, request.method, target, request.headers, request.body);
            const pathname = new URL(`${base}${target}`).pathname;
            const operation = matchOperation(operations, request.method, pathname);
            const body = parse(answer.body);
            if (operation && answer.status >= 200 && answer.status < 300) {
              pool.collect(body);
              recordCreated(operation.id, answer.status, body);
            }
            const key = `${operation?.id ?? "undocumented"} ${answer.status}`;
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            const problem = judge(api, operation, request.method, pathname, answer);
            if (problem) {
              const message = `${problem}\n  request: ${request.describe(target)}\n  answer: ${answer.status} ${answer.contentType ?? ""} ${answer.body.slice(0, 600)}`;
              if (!COLLECT) throw new Error(message);
              const signature = `${operation?.id ?? "undocumented"} ${answer.status} ${String(errorCode(body))} ${problem.slice(0, 100)}`;
              if (!findings.has(signature)) findings.set(signature, message);
            }
          }),
          { numRuns: RUNS, seed: SEED + seedOffset, interruptAfterTimeLimit: TIME_LIMIT_MS },
        );
        console.info(
          `fuzz ${api}: ${[...statuses]
            .sort()
            .map(([k, n]) => `${k}×${n}`)
            .join(", ")}`,
        );
        expect([...findings.values()], "distinct failures (QUIRE_FUZZ_COLLECT)").toEqual([]);
        // Most requests got past the key check to a route's own logic, and some were accepted.
        const count = (pattern: RegExp) =>
          [...statuses].filter(([k]) => pattern.test(k)).reduce((sum, [, n]) => sum + n, 0);
        expect(count(/ (401|429)$/)).toBeLessThan(count(/./) / 3);
        expect(count(/ 2\d\d$/)).toBeGreaterThan(count(/./) / 10);
      },
      TIME_LIMIT_MS + 60_000,
    );
  }

  it("afterwards both APIs are healthy, and every job, run, key and subscription stored was answered 2xx", async () => {
    for (const base of [pipeline.api, pipeline.notifierApi]) {
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
    }

    const scan = async (table: string) => {
      const items: Record<string, AttributeValue>[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await pipeline.clients.dynamodb.send(
          new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return items;
    };
    const unanswered: string[] = [];
    for (const item of await scan(pipeline.config.QUIRE_TABLE_JOBS_NAME)) {
      const pk = item.pk?.S ?? "";
      if (pk.startsWith("JOB#") && !answered.jobs.has(pk.slice(4))) unanswered.push(pk);
      if (pk.startsWith("RUN#") && !answered.runs.has(pk.slice(4))) unanswered.push(pk);
      if (pk.startsWith("IDEMPOTENCY#") && !answered.jobs.has(item.jobId?.S ?? ""))
        unanswered.push(`${pk} → ${item.jobId?.S}`);
    }
    for (const item of await scan(pipeline.config.QUIRE_TABLE_NOTIFICATIONS_NAME)) {
      const sk = item.sk?.S ?? "";
      if (item.pk?.S === "SUBSCRIPTIONS" && !answered.subscriptions.has(sk.replace(/^SUB#/, ""))) unanswered.push(sk);
    }
    for (const item of await scan(pipeline.config.QUIRE_TABLE_API_KEYS_NAME)) {
      const pk = item.pk?.S ?? "";
      if (pk.startsWith("KEY#") && !answered.keys.has(pk.slice(4))) unanswered.push(pk);
    }
    expect(unanswered, "records no 2xx answer handed out: a request that failed left them behind").toEqual([]);
    console.info(
      `fuzz: ${answered.jobs.size} jobs, ${answered.runs.size} runs, ${answered.keys.size} keys, ${answered.subscriptions.size} subscriptions created, each answered`,
    );
  });
});
