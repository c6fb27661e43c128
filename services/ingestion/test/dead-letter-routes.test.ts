import { createKeyAuthenticator, type ApiKeys, type ApiKeyStore } from "@quire/api-keys";
import type { DeadLetters } from "@quire/dead-letters";
import type { JobStore } from "@quire/jobs";
import { describe, expect, it, vi } from "vitest";
import { createApp, DEFAULT_MAX_DOCUMENT_BYTES } from "../src/app.ts";
import { buildIngestionOpenApi } from "../src/openapi.ts";
import type { Submission } from "../src/submission.ts";

const API_KEY = "test-api-key-0123456789";

describe("POST /v1/dead-letters/{queue}/redrive", () => {
  // Caught by the e2e fuzzer (tests/e2e/test/fuzz.test.ts): the body limit answered a status the document did not list.
  it("a body over 16 KiB → 413 PAYLOAD_TOO_LARGE, a status the document lists, and nothing is redriven", async () => {
    const redrive = vi.fn();
    const store = {} as ApiKeyStore;
    const app = createApp({
      jobs: {} as JobStore,
      submission: {} as Submission,
      deadLetters: { redrive } as unknown as DeadLetters,
      keys: { store, authenticator: createKeyAuthenticator({ store, bootstrapKey: API_KEY }) } as unknown as ApiKeys,
      maxDocumentBytes: DEFAULT_MAX_DOCUMENT_BYTES,
    });
    const response = await app.request("/v1/dead-letters/summarizer/redrive", {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ code: "MODEL_OUTPUT_INVALID", padding: "a".repeat(16 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    const responses = (buildIngestionOpenApi().paths as Record<string, Record<string, { responses: object }>>)[
      "/v1/dead-letters/{queue}/redrive"
    ]!.post!.responses;
    expect(Object.keys(responses)).toContain("413");
    expect(redrive).not.toHaveBeenCalled();
  });
});
