/**
 * API keys through ingestion's real HTTP API on devcloud: the bootstrap key (QUIRE_API_KEY)
 * creates keys; each key does exactly what its scopes allow, at its rate, and stops when revoked
 * or when its rotation overlap ends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY, startIngestion, type Ingestion } from "./support/harness.ts";

let ingestion: Ingestion;
beforeAll(async () => {
  ingestion = await startIngestion({ env: { QUIRE_KEY_CONCURRENT_WAITS: "1" } });
});
afterAll(() => ingestion?.stop());

interface Issued {
  keyId: string;
  key: string;
  scopes: string[];
  status: string;
}
const create = async (body: unknown, as?: string): Promise<Response> =>
  ingestion.request("/v1/keys", { json: body, ...(as ? { headers: { "x-api-key": as } } : {}) });
const issue = async (body: unknown, as?: string): Promise<Issued> => {
  const response = await create(body, as);
  expect(response.status).toBe(201);
  return (await response.json()) as Issued;
};
const as = (key: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
  ingestion.request(path, { ...init, headers: { "x-api-key": key, ...init.headers } });
const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;
const document = { text: "INVOICE 12. Amount due 99.00." };

describe("API keys on the ingestion API", () => {
  it("the bootstrap key creates a key, shown once: listing and reading it never show the key", async () => {
    const issued = await issue({ name: "acme-dms", scopes: ["documents:submit"] });
    expect(issued.key).toMatch(/^quire_k[0-9a-f]{16}_/);
    const listed = await (await ingestion.request("/v1/keys")).text();
    expect(listed).toContain(issued.keyId);
    expect(listed).not.toContain(issued.key);
    const read = await (await ingestion.request(`/v1/keys/${issued.keyId}`)).text();
    expect(read).not.toContain(issued.key);
    expect(JSON.parse(read)).toMatchObject({ name: "acme-dms", scopes: ["documents:submit"], status: "active" });
  });

  it("a submit-only key submits documents, and is refused 403 MISSING_SCOPE reading jobs or managing keys", async () => {
    const { key } = await issue({ name: "submitter", scopes: ["documents:submit"] });
    const accepted = await as(key, "/v1/documents", { json: document });
    expect(accepted.status).toBe(202);
    const { jobId } = (await accepted.json()) as { jobId: string };
    const read = await as(key, `/v1/jobs/${jobId}`);
    expect(read.status).toBe(403);
    expect(await codeOf(read)).toBe("MISSING_SCOPE");
    expect(await codeOf(await as(key, "/v1/keys"))).toBe("MISSING_SCOPE");
    expect(await codeOf(await as(key, "/v1/dead-letters"))).toBe("MISSING_SCOPE");
  });

  it("a read-only key reads jobs and cannot submit", async () => {
    const { key } = await issue({ name: "reader", scopes: ["jobs:read"] });
    const { jobId } = (await (await ingestion.request("/v1/documents", { json: document })).json()) as {
      jobId: string;
    };
    expect((await as(key, `/v1/jobs/${jobId}`)).status).toBe(200);
    expect(await codeOf(await as(key, "/v1/documents", { json: document }))).toBe("MISSING_SCOPE");
  });

  it("a key may only grant scopes it holds: keys:manage is not a way to more", async () => {
    const { key } = await issue({ name: "key-admin", scopes: ["keys:manage", "jobs:read"] });
    expect((await create({ name: "ok", scopes: ["jobs:read"] }, key)).status).toBe(201);
    const escalation = await create({ name: "more", scopes: ["documents:submit"] }, key);
    expect(escalation.status).toBe(403);
    expect(await codeOf(escalation)).toBe("SCOPE_NOT_HELD");
    // Nor revoke or rotate a key holding more than it does.
    const { keyId } = await issue({ name: "bigger", scopes: ["documents:submit", "jobs:read"] });
    expect(await codeOf(await as(key, `/v1/keys/${keyId}`, { method: "DELETE" }))).toBe("SCOPE_NOT_HELD");
    expect(await codeOf(await as(key, `/v1/keys/${keyId}/rotate`, { json: {} }))).toBe("SCOPE_NOT_HELD");
  });

  it("nor is keys:manage a way to a higher rate: a key gets at most its creator's limits, and its creator's by default", async () => {
    const own = { requestsPerSecond: 5, burst: 10, concurrentWaits: 2 };
    const { key } = await issue({ name: "limited-admin", scopes: ["keys:manage", "jobs:read"], limits: own });
    const higher = await create(
      { name: "faster", scopes: ["jobs:read"], limits: { ...own, requestsPerSecond: 10_000 } },
      key,
    );
    expect(higher.status).toBe(403);
    expect(await codeOf(higher)).toBe("LIMITS_NOT_HELD");
    const defaulted = await issue({ name: "inherits", scopes: ["jobs:read"] }, key);
    expect((await (await ingestion.request(`/v1/keys/${defaulted.keyId}`)).json()) as object).toMatchObject({
      limits: own,
    });
    // Nor rotate a key with higher limits into its own hands.
    const { keyId } = await issue({ name: "fast", scopes: ["jobs:read"] });
    expect(await codeOf(await as(key, `/v1/keys/${keyId}/rotate`, { json: {} }))).toBe("LIMITS_NOT_HELD");
  });

  it("revoking a leaked key withSuccessors=true also revokes what its holder rotated it into; without, the successor is named", async () => {
    const { key, keyId } = await issue({ name: "leaked-admin", scopes: ["keys:manage", "jobs:read"] });
    // The holder of the leaked key rotates it, keeping a successor for itself.
    const rotated = (await (
      await as(key, `/v1/keys/${keyId}/rotate`, { json: { overlapSeconds: 3600 } })
    ).json()) as Issued;
    const again = (await (
      await as(rotated.key, `/v1/keys/${rotated.keyId}/rotate`, { json: { overlapSeconds: 3600 } })
    ).json()) as Issued;
    const revoked = await ingestion.request(`/v1/keys/${keyId}?withSuccessors=true`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedSuccessors: string[] }).revokedSuccessors).toEqual([
      rotated.keyId,
      again.keyId,
    ]);
    for (const presented of [key, rotated.key, again.key])
      expect((await as(presented, "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7")).status).toBe(401);
    expect(await codeOf(await ingestion.request(`/v1/keys/${keyId}?withSuccessors=yes`, { method: "DELETE" }))).toBe(
      "VALIDATION_FAILED",
    );
  });

  it("a rotation body sent without a Content-Type is 415, not ignored (overlapSeconds: 0 must not silently become a day)", async () => {
    const { keyId } = await issue({ name: "untyped", scopes: ["jobs:read"] });
    const response = await fetch(`${ingestion.api}/v1/keys/${keyId}/rotate`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "" },
      body: JSON.stringify({ overlapSeconds: 0 }),
    });
    expect(response.status).toBe(415);
    expect((await (await ingestion.request(`/v1/keys/${keyId}`)).json()) as object).toMatchObject({ status: "active" });
  });

  it("a revoked key is refused 401 at once on the process that revoked it", async () => {
    const { key, keyId } = await issue({ name: "leaked", scopes: ["jobs:read"] });
    expect((await as(key, "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7")).status).toBe(404);
    const revoked = await ingestion.request(`/v1/keys/${keyId}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as Issued).status).toBe("revoked");
    const refused = await as(key, "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7");
    expect(refused.status).toBe(401);
    expect(await codeOf(refused)).toBe("UNAUTHORIZED");
  });

  it("rotation issues a successor at once; with overlap 0 the old key stops, and rotating it again is 409", async () => {
    const { key, keyId } = await issue({ name: "rotated", scopes: ["jobs:read"] });
    const rotated = await ingestion.request(`/v1/keys/${keyId}/rotate`, { json: { overlapSeconds: 0 } });
    expect(rotated.status).toBe(201);
    const successor = (await rotated.json()) as Issued & { previous: Issued & { rotatedTo: string } };
    expect(successor.previous).toMatchObject({ keyId, rotatedTo: successor.keyId, status: "expired" });
    expect((await as(successor.key, "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7")).status).toBe(404);
    expect((await as(key, "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7")).status).toBe(401);
    const again = await ingestion.request(`/v1/keys/${keyId}/rotate`, { json: {} });
    expect(again.status).toBe(409);
    expect(await codeOf(again)).toBe("KEY_NOT_ACTIVE");
  });

  it("a rotated key keeps working through its overlap", async () => {
    const { key, keyId } = await issue({ name: "overlapping", scopes: ["jobs:read"] });
    const rotated = await ingestion.request(`/v1/keys/${keyId}/rotate`, { json: { overlapSeconds: 3600 } });
    expect(((await rotated.json()) as { previous: Issued }).previous.status).toBe("expiring");
    expect((await as(key, "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7")).status).toBe(404);
  });

  it("a key over its request rate gets 429 RATE_LIMITED with Retry-After; another key is not slowed", async () => {
    const { key } = await issue({
      name: "slow",
      scopes: ["jobs:read"],
      limits: { requestsPerSecond: 0.5, burst: 3, concurrentWaits: 1 },
    });
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await as(key, "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7");
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
      else await response.body?.cancel();
    }
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect(refused?.headers.get("retry-after")).toBe("2");
    expect(refused?.headers.get("ratelimit-limit")).toBe("3");
    expect(await codeOf(refused!)).toBe("RATE_LIMITED");
    expect((await ingestion.request("/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7")).status).toBe(404);
  });

  it("past its concurrent ?wait= cap a key gets 429 TOO_MANY_WAITS and no job is created", async () => {
    const { key } = await issue({ name: "waiter", scopes: ["documents:submit"] });
    // Nothing processes jobs here, so the first sync request holds its slot for its whole wait.
    const first = as(key, "/v1/documents?wait=3", { json: document });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const jobsBefore = ingestion.snsCalls.length;
    const second = await as(key, "/v1/documents?wait=3", { json: { text: "another" } });
    expect(second.status).toBe(429);
    expect(await codeOf(second)).toBe("TOO_MANY_WAITS");
    expect(ingestion.snsCalls.length).toBe(jobsBefore);
    expect((await first).status).toBe(202);
    // The slot is free again once the first answered.
    expect((await as(key, "/v1/documents?wait=1", { json: { text: "a third" } })).status).toBe(202);
  });

  it("bad key requests get specific 4xx: unknown scope, no scopes, an unknown key id", async () => {
    expect(await codeOf(await create({ name: "x", scopes: ["everything"] }))).toBe("VALIDATION_FAILED");
    expect(await codeOf(await create({ name: "x", scopes: [] }))).toBe("VALIDATION_FAILED");
    const unusable = { requestsPerSecond: 5e-324, burst: 1, concurrentWaits: 0 };
    expect(await codeOf(await create({ name: "x", scopes: ["jobs:read"], limits: unusable }))).toBe(
      "VALIDATION_FAILED",
    );
    expect(await codeOf(await ingestion.request("/v1/keys/k0000000000000000"))).toBe("KEY_NOT_FOUND");
    expect(await codeOf(await ingestion.request("/v1/keys/bootstrap", { method: "DELETE" }))).toBe("KEY_NOT_FOUND");
  });
});
