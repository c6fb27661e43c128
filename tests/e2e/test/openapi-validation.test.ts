import { describe, expect, it } from "vitest";
import { describeViolation } from "./support/openapi.ts";

/**
 * The checker every other spec's responses go through (support/setup.ts) tells a described response from one that is
 * not.
 */
describe("response validation against the OpenAPI documents", () => {
  const job = {
    jobId: "job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7",
    status: "pending",
    submittedAt: "2025-01-01T00:00:00.000Z",
    completionPublished: false,
    stages: { summary: { status: "pending", attempts: 0 }, classification: { status: "pending", attempts: 0 } },
    links: { self: "/v1/jobs/job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7" },
  };
  const error = (code: string) => JSON.stringify({ error: { code, message: "…" } });

  it("passes what the document describes", () => {
    expect(
      describeViolation("ingestion", "GET", `/v1/jobs/${job.jobId}`, 200, "application/json", JSON.stringify(job)),
    ).toBeUndefined();
    expect(
      describeViolation("ingestion", "GET", "/v1/jobs/job_x", 404, "application/json", error("JOB_NOT_FOUND")),
    ).toBeUndefined();
    expect(describeViolation("notifier", "DELETE", "/v1/subscriptions/sub_x", 204, null, "")).toBeUndefined();
    expect(
      describeViolation("notifier", "GET", "/email/confirm", 404, "text/html; charset=UTF-8", "<p>no</p>"),
    ).toBeUndefined();
  });

  it("fails an undocumented route, method, status, error code, content type or body", () => {
    expect(describeViolation("ingestion", "GET", "/v1/nothing", 404, "application/json", error("NOT_FOUND"))).toMatch(
      /no such path/,
    );
    expect(
      describeViolation("ingestion", "DELETE", "/v1/jobs/job_x", 404, "application/json", error("NOT_FOUND")),
    ).toMatch(/no DELETE/);
    expect(describeViolation("ingestion", "GET", "/v1/jobs/job_x", 409, "application/json", error("CONFLICT"))).toMatch(
      /status the document does not list/,
    );
    expect(
      describeViolation("ingestion", "GET", "/v1/jobs/job_x", 404, "application/json", error("RUN_NOT_FOUND")),
    ).toMatch(/does not match/);
    expect(describeViolation("ingestion", "GET", "/v1/jobs/job_x", 200, "text/plain", "ok")).toMatch(/as text\/plain/);
    expect(
      describeViolation(
        "ingestion",
        "GET",
        "/v1/jobs/job_x",
        200,
        "application/json",
        JSON.stringify({ ...job, extra: 1 }),
      ),
    ).toMatch(/additional/);
    expect(
      describeViolation(
        "ingestion",
        "GET",
        "/v1/jobs/job_x",
        200,
        "application/json",
        JSON.stringify({ ...job, status: "lost" }),
      ),
    ).toMatch(/allowed values/);
  });
});
