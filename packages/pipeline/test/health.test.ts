import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { createLogger, type LocalRunner, type LocalRunnerState } from "@quire/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { serveHealth } from "../src/index.ts";

const quiet = createLogger({ test: true }, () => {});
const stats = { received: 3, succeeded: 2, failed: 1, deadLettered: 0, inFlight: 0, handlerMs: 12, receiveFailures: 0 };
function fakeRunner(state: LocalRunnerState): LocalRunner & { state: LocalRunnerState } {
  return { state, stats, stop: async () => {} };
}

let server: ReturnType<typeof serveHealth> | undefined;
afterEach(() => void server?.close());

async function health(runners: { queue: string; runner: LocalRunner }[]) {
  server = serveHealth(0, "summarizer", runners, quiet);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return (path = "/health") => fetch(`http://127.0.0.1:${port}${path}`);
}

describe("a local process's health endpoint", () => {
  it("answers 200 with every runner's state and stats while they poll, 503 while one starts or stops", async () => {
    const bulk = fakeRunner("polling");
    const interactive = fakeRunner("starting");
    const get = await health([
      { queue: "summarizer", runner: bulk },
      { queue: "summarizerInteractive", runner: interactive },
    ]);

    let response = await get();
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: "starting", service: "summarizer" });

    interactive.state = "polling";
    response = await get();
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "ok",
      pid: process.pid,
      runners: [
        { queue: "summarizer", state: "polling", received: 3, succeeded: 2 },
        { queue: "summarizerInteractive", state: "polling" },
      ],
    });

    bulk.state = "stopping";
    response = await get();
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: "stopping" });
    expect((await get("/nope")).status).toBe(404);
  });
});
