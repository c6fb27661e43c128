import { buildProgram, LISTEN_PORTS } from "@quire/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The allowlist `npm start` gives the notifier, as it computes it.
import { webhookAllowlist } from "../../../scripts/local-env.ts";
import { API_KEY, startPipeline, type Pipeline } from "./support/pipeline.ts";

let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await startPipeline({ env: { QUIRE_WEBHOOK_ALLOWLIST: webhookAllowlist } });
});
afterAll(() => pipeline?.stop());

async function subscribe(url: string): Promise<{ status: number; code: string | undefined }> {
  const response = await pipeline.notifierRequest("/v1/subscriptions", { json: { kind: "webhook", url } });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code };
}

describe("npm start's webhook allowlist: `quire listen`, and nothing else on this machine", () => {
  it("refuses webhooks to devcloud's edge and queue URLs, and to the ingestion and notifier APIs", async () => {
    const edge = new URL(pipeline.devcloud.endpoint);
    for (const url of [
      `${pipeline.devcloud.endpoint}/`,
      `http://localhost:${edge.port}/`,
      `http://[::1]:${edge.port}/`,
      pipeline.devcloud.resources.queueUrls.ingestion!,
      `${pipeline.api}/v1/documents`,
      `${pipeline.notifierApi}/v1/subscriptions`,
      "http://127.0.0.1:4566/000000000000/quire-ingestion",
      "http://127.0.0.1:3000/v1/documents",
      "http://127.0.0.1:3001/v1/subscriptions",
    ]) {
      expect(await subscribe(url), url).toEqual({ status: 422, code: "WEBHOOK_URL_NOT_ALLOWED" });
    }
  });

  it("lets `quire listen` subscribe on its default ports and receive a delivery", async () => {
    let interrupt!: () => void;
    const out: string[] = [];
    const err: string[] = [];
    const program = buildProgram({
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: { QUIRE_API_URL: pipeline.api, QUIRE_NOTIFIER_URL: pipeline.notifierApi, QUIRE_API_KEY: API_KEY },
      isTTY: false,
      setExitCode: () => {},
      untilInterrupted: () => new Promise<void>((resolve) => (interrupt = resolve)),
    });
    const listening = program.parseAsync(["node", "quire", "listen"]);
    while (!err.some((l) => l.startsWith("listening on"))) await new Promise((r) => setTimeout(r, 20));
    const [, port, subscriptionId] = err[0]!.match(/^listening on http:\/\/127\.0\.0\.1:(\d+)\/ as (sub_\w+)/)!;
    expect(Number(port)).toBeGreaterThanOrEqual(LISTEN_PORTS.first);
    expect(Number(port)).toBeLessThanOrEqual(LISTEN_PORTS.last);

    const ping = await pipeline.notifierRequest(`/v1/subscriptions/${subscriptionId}/test`, { method: "POST" });
    expect(ping.status).toBe(202);
    const deadline = Date.now() + 15_000;
    while (!out.some((l) => l.startsWith("ping")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out.some((l) => l.startsWith("ping"))).toBe(true);
    interrupt();
    await listening;
  });
});
