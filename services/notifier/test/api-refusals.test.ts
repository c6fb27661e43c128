import { createKeyAuthenticator, type ApiKeyStore } from "@quire/api-keys";
import type { NotificationStore, Subscription } from "@quire/notifications";
import { describe, expect, it, vi } from "vitest";
import { createNotifierApi, MAX_BODY_BYTES, type NotifierApiDependencies } from "../src/api.ts";
import { buildNotifierOpenApi } from "../src/openapi.ts";

// Refusals the e2e fuzzer (tests/e2e/test/fuzz.test.ts) caught answering a status the document did not list.
const API_KEY = "test-api-key-0123456789";
const webhook = {
  id: "sub_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7",
  kind: "webhook",
  url: "https://hooks.example.com",
  events: ["job.completed"],
  status: "active",
} as Subscription;
const rotateSecret = vi.fn();
const api = createNotifierApi({
  store: { getSubscription: async () => webhook, rotateSecret } as unknown as NotificationStore,
  keys: { authenticator: createKeyAuthenticator({ store: {} as ApiKeyStore, bootstrapKey: API_KEY }) },
} as unknown as NotifierApiDependencies);

const documented = (path: string, method: string) =>
  Object.keys(
    (buildNotifierOpenApi().paths as Record<string, Record<string, { responses: object }>>)[path]![method]!.responses,
  );
const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describe("the notifier's refusals are the ones its document lists", () => {
  it("DELETE /v1/subscriptions/{id} with a body over the limit → 413 PAYLOAD_TOO_LARGE, a documented status", async () => {
    const response = await api.request(`/v1/subscriptions/${webhook.id}`, {
      method: "DELETE",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ padding: "a".repeat(MAX_BODY_BYTES) }),
    });
    expect(response.status).toBe(413);
    expect(await codeOf(response)).toBe("PAYLOAD_TOO_LARGE");
    expect(documented("/v1/subscriptions/{id}", "delete")).toContain("413");
  });

  it("rotate-secret with a body sent as text/html; x=application/json → 415 (documented), and nothing is rotated", async () => {
    const response = await api.request(`/v1/subscriptions/${webhook.id}/rotate-secret`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "text/html; x=application/json" },
      body: JSON.stringify({ overlapSeconds: 0 }),
    });
    expect(response.status).toBe(415);
    expect(await codeOf(response)).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(documented("/v1/subscriptions/{id}/rotate-secret", "post")).toContain("415");
    expect(rotateSecret).not.toHaveBeenCalled();
  });

  it("rotate-secret with a body but no Content-Type → 415, not silently the default overlap", async () => {
    const response = await api.request(`/v1/subscriptions/${webhook.id}/rotate-secret`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "" },
      body: JSON.stringify({ overlapSeconds: 0 }),
    });
    expect(response.status).toBe(415);
    expect(rotateSecret).not.toHaveBeenCalled();
  });

  it("a filter pattern with a number DynamoDB cannot hold (6e31, 5e-324) → 400 INVALID_FILTER, not a 500", async () => {
    for (const value of [-6.139932049646133e31, 5e-324]) {
      const response = await api.request("/v1/subscriptions", {
        method: "POST",
        headers: { "x-api-key": API_KEY, "content-type": "application/json" },
        body: JSON.stringify({
          kind: "webhook",
          url: "https://hooks.example.com/quire",
          filter: { pattern: { data: { metadata: { amount: [value] } } } },
        }),
      });
      expect(response.status, String(value)).toBe(400);
      expect(await codeOf(response)).toBe("INVALID_FILTER");
    }
  });
});
