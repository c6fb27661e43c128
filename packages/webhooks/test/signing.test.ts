import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { generateWebhookSecret, signWebhook, WebhookConfigError } from "../src/index.ts";

const sign = (secrets: string[], overrides: Partial<Parameters<typeof signWebhook>[0]> = {}) =>
  signWebhook({
    messageId: "msg_1",
    type: "job.completed",
    data: { jobId: "job_1" },
    timestamp: new Date(),
    secrets,
    ...overrides,
  });

describe("signing (Standard Webhooks)", () => {
  it("a delivery signed with the subscription's secret is accepted by the standardwebhooks verifier", () => {
    const secret = generateWebhookSecret();
    const { body, headers } = sign([secret]);
    expect(new Webhook(secret).verify(body, headers)).toEqual({
      type: "job.completed",
      timestamp: expect.any(String),
      data: { jobId: "job_1" },
    });
  });

  it("a delivery is rejected by a verifier holding a different secret", () => {
    const { body, headers } = sign([generateWebhookSecret()]);
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it("during a rotation carries one v1 signature per secret", () => {
    const { headers } = sign([generateWebhookSecret(), generateWebhookSecret()]);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
  });

  it("during a rotation a verifier holding the old secret accepts", () => {
    const [previous, next] = [generateWebhookSecret(), generateWebhookSecret()];
    const { body, headers } = sign([next, previous]);
    expect(() => new Webhook(previous).verify(body, headers)).not.toThrow();
  });

  it("during a rotation a verifier holding the new secret accepts", () => {
    const [previous, next] = [generateWebhookSecret(), generateWebhookSecret()];
    const { body, headers } = sign([next, previous]);
    expect(() => new Webhook(next).verify(body, headers)).not.toThrow();
  });

  it("a tampered body no longer verifies", () => {
    const secret = generateWebhookSecret();
    const { body, headers } = sign([secret]);
    expect(() => new Webhook(secret).verify(body.replace("job_1", "job_2"), headers)).toThrow();
  });

  it("webhook-id is the message id given", () => {
    expect(sign([generateWebhookSecret()], { messageId: "msg_42" }).headers["webhook-id"]).toBe("msg_42");
  });

  it("webhook-timestamp is the given time in whole seconds", () => {
    const { headers } = sign([generateWebhookSecret()], { timestamp: new Date("2026-11-23T10:00:05.900Z") });
    expect(headers["webhook-timestamp"]).toBe(String(Date.parse("2026-11-23T10:00:05Z") / 1000));
  });

  it("the body is { type, timestamp, data } with the timestamp in ISO form", () => {
    const { body } = sign([generateWebhookSecret()], { timestamp: new Date("2026-11-23T10:00:05.900Z") });
    expect(JSON.parse(body)).toEqual({
      type: "job.completed",
      timestamp: "2026-11-23T10:00:05.900Z",
      data: { jobId: "job_1" },
    });
  });

  it("the body's timestamp is when the event happened, when that is given apart from the attempt's time", () => {
    const { body } = sign([generateWebhookSecret()], {
      timestamp: new Date("2026-11-23T10:00:05Z"),
      occurredAt: "2026-11-23T09:59:00.000Z",
    });
    expect(JSON.parse(body).timestamp).toBe("2026-11-23T09:59:00.000Z");
  });

  it("says it is JSON from Quire", () => {
    const { headers } = sign([generateWebhookSecret()]);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["user-agent"]).toBe("Quire-Webhooks/1.0");
  });

  it("refuses a secret that is not whsec_ and padded base64 with SECRET_INVALID", () => {
    for (const bad of ["plain-secret", "whsec_", "whsec_not base64!", "whsec_AAAAA"]) {
      expect(() => sign([bad])).toThrow(WebhookConfigError);
      expect(() => sign([bad])).toThrow(expect.objectContaining({ code: "SECRET_INVALID" }));
    }
  });

  it("refuses to sign with no secret at all", () => {
    expect(() => sign([])).toThrow("at least one secret");
  });
});
