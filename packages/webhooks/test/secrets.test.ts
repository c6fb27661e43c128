import { describe, expect, it } from "vitest";
import { generateWebhookSecret } from "../src/index.ts";

describe("webhook secrets", () => {
  it("are whsec_ followed by base64", () => {
    expect(generateWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
  });

  it("carry 24 bytes of key", () => {
    expect(Buffer.from(generateWebhookSecret().slice("whsec_".length), "base64")).toHaveLength(24);
  });

  it("are different every time", () => {
    expect(new Set(Array.from({ length: 50 }, generateWebhookSecret)).size).toBe(50);
  });
});
