import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSite, startConsoleServer, type ConsoleServer } from "../src/index.ts";
import { parseRoute } from "../src/ui/router.ts";

describe("the console's site", () => {
  it("is one page, one script and one stylesheet, with the script under 200 KB compressed", async () => {
    const site = await buildSite();
    expect(Object.keys(site).sort()).toEqual(["console.css", "console.js", "index.html"]);
    expect(site["index.html"]).toContain('<script type="module" src="console.js">');
    expect(gzipSync(site["console.js"]).length).toBeLessThan(200 * 1024);
  });
});

describe("its routes, in the URL's hash", () => {
  it("reads every page's route, and sends an empty hash to the runs", () => {
    expect(parseRoute("")).toEqual({ page: "runs" });
    expect(parseRoute("#/runs/run_01ABCDEFGHJK")).toEqual({ page: "run", runId: "run_01ABCDEFGHJK" });
    expect(parseRoute("#/jobs/job_1")).toEqual({ page: "job", jobId: "job_1" });
    expect(parseRoute("#/subscriptions/sub_1")).toEqual({ page: "subscription", subscriptionId: "sub_1" });
    expect(parseRoute("#/deliveries/dlv_1")).toEqual({ page: "delivery", deliveryId: "dlv_1" });
    expect(parseRoute("#/dead-letters")).toEqual({ page: "dead-letters" });
    expect(parseRoute("#/nowhere")).toEqual({ page: "not-found", path: "/nowhere" });
  });
});

describe("the local console server", () => {
  let server: ConsoleServer;
  let outboxServer: import("node:http").Server;
  let devcloud: string;
  beforeAll(async () => {
    const { createServer } = await import("node:http");
    // A stand-in for devcloud's outbox endpoint: the server only passes it through.
    outboxServer = createServer((req, res) => {
      res.writeHead(req.url === "/_quire/outbox" ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify({ messages: [{ id: "m1", subject: "Job complete" }] }));
    });
    await new Promise<void>((resolve) => outboxServer.listen(0, "127.0.0.1", resolve));
    devcloud = `http://127.0.0.1:${(outboxServer.address() as { port: number }).port}`;
    server = await startConsoleServer({
      ingestionApi: "http://127.0.0.1:3000",
      notifierApi: "http://127.0.0.1:3001",
      devcloudEndpoint: devcloud,
    });
  });
  afterAll(async () => {
    await server.close();
    outboxServer.close();
  });

  it("tells the page where the APIs are, and that there is an outbox, in config.json — and nothing secret", async () => {
    const config = await (await fetch(`${server.url}/config.json`)).json();
    expect(config).toEqual({
      ingestionApi: "http://127.0.0.1:3000",
      notifierApi: "http://127.0.0.1:3001",
      outbox: "outbox",
    });
  });

  it("lets the page reach only itself and the two APIs (Content-Security-Policy)", async () => {
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:3000 http://127.0.0.1:3001");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("serves its files compressed to a browser that accepts gzip", async () => {
    const { request } = await import("node:http");
    const body = await new Promise<{ encoding: string | undefined; bytes: Buffer }>((resolve, reject) => {
      request(`${server.url}/console.js`, { headers: { "accept-encoding": "gzip, br" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ encoding: res.headers["content-encoding"], bytes: Buffer.concat(chunks) }));
      })
        .on("error", reject)
        .end();
    });
    expect(body.encoding).toBe("gzip");
    expect(gunzipSync(body.bytes).toString()).toContain("x-api-key");
  });

  it("passes devcloud's email outbox through at /outbox", async () => {
    const outbox = await (await fetch(`${server.url}/outbox`)).json();
    expect(outbox).toEqual({ messages: [{ id: "m1", subject: "Job complete" }] });
  });

  it("answers any other path with the page (routes live in the hash) as 404, and refuses writes", async () => {
    const missing = await fetch(`${server.url}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('<div id="app">');
    expect((await fetch(server.url, { method: "POST" })).status).toBe(405);
  });
});
