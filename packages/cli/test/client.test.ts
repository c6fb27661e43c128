import { describe, expect, it } from "vitest";
import { createQuireClient, QuireApiError } from "../src/index.ts";
import { closedPort, fakeApi, KEY, send } from "./fake-api.ts";

describe("createQuireClient", () => {
  it("sends the API key as x-api-key and JSON bodies to the ingestion API", async () => {
    const api = await fakeApi({ "POST /v1/documents": send(202, { jobId: "job_1", status: "pending" }) });
    const client = createQuireClient({ apiUrl: api.url, notifierUrl: "http://127.0.0.1:1", apiKey: KEY });
    expect(
      await client.submitDocument({ text: "Hello.", title: "Hi", idempotencyKey: "k1" }, { waitSeconds: 5 }),
    ).toMatchObject({ jobId: "job_1" });
    expect(api.seen).toEqual([
      { method: "POST", path: "/v1/documents?wait=5", body: { text: "Hello.", title: "Hi", idempotencyKey: "k1" } },
    ]);
  });

  it("turns an error body into a QuireApiError carrying its status, code and message", async () => {
    const api = await fakeApi({
      "GET /v1/jobs/job_x": send(404, {
        error: { code: "JOB_NOT_FOUND", message: "No job job_x.", details: { jobId: "job_x" } },
      }),
    });
    const client = createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY });
    const error = await client.getJob("job_x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuireApiError);
    expect(error).toMatchObject({
      name: "QuireApiError",
      status: 404,
      code: "JOB_NOT_FOUND",
      message: "No job job_x.",
      details: { jobId: "job_x" },
    });
  });

  it("reports a wrong key as the API's UNAUTHORIZED", async () => {
    const api = await fakeApi({});
    const client = createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: "wrong" });
    await expect(client.listSubscriptions()).rejects.toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("names a non-JSON error answer by its HTTP status", async () => {
    const api = await fakeApi({ "GET /v1/runs/run_x": (_req, res) => res.writeHead(502).end("Bad Gateway") });
    const client = createQuireClient({ apiUrl: api.url, notifierUrl: api.url, apiKey: KEY });
    await expect(client.getRun("run_x")).rejects.toMatchObject({
      status: 502,
      code: "HTTP_502",
      message: "Bad Gateway",
    });
  });

  it("says UNREACHABLE, naming the URL and npm start, when nothing answers", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const client = createQuireClient({ apiUrl: url, notifierUrl: url, apiKey: KEY });
    const error = await client.getRun("run_x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuireApiError);
    expect(error).toMatchObject({ code: "UNREACHABLE", status: 0 });
    expect((error as Error).message).toContain(url);
    expect((error as Error).message).toContain("ECONNREFUSED");
    expect((error as Error).message).toContain("npm start");
  });

  it("calls the notifier API for subscriptions and deliveries, at their paths", async () => {
    const notifier = await fakeApi({
      "GET /v1/subscriptions/sub_1": send(200, { id: "sub_1" }),
      "DELETE /v1/subscriptions/sub_1": send(204),
      "POST /v1/subscriptions/sub_1/rotate-secret": send(200, {
        secret: "whsec_new",
        previousSecretExpiresAt: "2026-11-24T00:00:00Z",
      }),
      "POST /v1/subscriptions/sub_1/test": send(202, { deliveryId: "dlv_1" }),
      "POST /v1/subscriptions/sub_1/enable": send(200, { id: "sub_1", status: "active" }),
      "GET /v1/subscriptions/sub_1/deliveries": send(200, { deliveries: [{ id: "dlv_1" }] }),
      "GET /v1/deliveries/dlv_1": send(200, { id: "dlv_1", log: [] }),
    });
    const client = createQuireClient({ apiUrl: "http://127.0.0.1:1", notifierUrl: `${notifier.url}/`, apiKey: KEY });
    await client.getSubscription("sub_1");
    expect(await client.deleteSubscription("sub_1")).toBeUndefined();
    expect(await client.rotateSecret("sub_1")).toEqual({
      secret: "whsec_new",
      previousSecretExpiresAt: "2026-11-24T00:00:00Z",
    });
    expect(await client.testSubscription("sub_1")).toEqual({ deliveryId: "dlv_1" });
    expect(await client.enableSubscription("sub_1")).toMatchObject({ status: "active" });
    expect(await client.listDeliveries("sub_1", { status: "failed" })).toEqual([{ id: "dlv_1" }]);
    expect(await client.getDelivery("dlv_1")).toEqual({ id: "dlv_1", log: [] });
    expect(notifier.seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v1/subscriptions/sub_1",
      "DELETE /v1/subscriptions/sub_1",
      "POST /v1/subscriptions/sub_1/rotate-secret",
      "POST /v1/subscriptions/sub_1/test",
      "POST /v1/subscriptions/sub_1/enable",
      "GET /v1/subscriptions/sub_1/deliveries?status=failed",
      "GET /v1/deliveries/dlv_1",
    ]);
  });

  it("uses the fetch it is given", async () => {
    const urls: string[] = [];
    const api = await fakeApi({ "GET /v1/jobs/job_1": send(200, { jobId: "job_1", status: "pending" }) });
    const client = createQuireClient({
      apiUrl: api.url,
      notifierUrl: api.url,
      apiKey: KEY,
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    await client.getJob("job_1");
    expect(urls).toEqual([`${api.url}/v1/jobs/job_1`]);
  });
});
