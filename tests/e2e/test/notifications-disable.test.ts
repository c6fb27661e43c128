import { afterAll, beforeAll, expect, it } from "vitest";
import { startPipeline, type Pipeline } from "./support/pipeline.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";

// Scaled by 0.001: retries after 5 ms, 300 ms, 1.8 s, 7.2 s, 18 s; "failing for 2 h" becomes 7.2 s.
let pipeline: Pipeline;
let endpoint: Receiver;
beforeAll(async () => {
  pipeline = await startPipeline({
    env: {
      QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.2",
      QUIRE_WEBHOOK_RETRY_SCHEDULE: "5s,5m,30m,2h,5h",
      QUIRE_WEBHOOK_DISABLE_AFTER: "2h",
      QUIRE_NOTIFIER_TIME_SCALE: "0.001",
    },
  });
  endpoint = await startReceiver();
});
afterAll(async () => {
  await endpoint?.close();
  await pipeline?.stop();
});

it("disables a subscription whose endpoint has failed for the whole disable-after window, and stops retrying", async () => {
  endpoint.respondWith(500);
  const created = await pipeline.notifierRequest("/v1/subscriptions", {
    json: { kind: "webhook", url: endpoint.url, events: ["run.completed"] },
  });
  const sub = (await created.json()) as { id: string; secret: string };
  endpoint.verifyWith(sub.secret);
  await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/test`, { method: "POST" });

  const deadline = Date.now() + 20_000;
  let current: Record<string, any> = {};
  while (Date.now() < deadline) {
    current = (await (await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}`)).json()) as Record<string, any>;
    if (current.status === "disabled") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(current).toMatchObject({ status: "disabled", disabledReason: { code: "CONSECUTIVE_FAILURES" } });
  const { deliveries } = (await (await pipeline.notifierRequest(`/v1/subscriptions/${sub.id}/deliveries`)).json()) as {
    deliveries: Record<string, any>[];
  };
  expect(deliveries[0]).toMatchObject({ status: "failed" });
  // Attempts at ~0, 0.3, 1.3 and 3.3 s are inside the window; the fifth (~11 s) is past it, and
  // instead of scheduling a sixth the delivery fails and the subscription is disabled.
  expect(deliveries[0]!.attempts).toBe(5);
  expect(endpoint.requests).toHaveLength(5);
  endpoint.assertVerified();
});
