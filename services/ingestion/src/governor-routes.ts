import { z } from "@hono/zod-openapi";
import { defineRoute, errorResponses, INTERNAL, json, keyScope, UNAUTHORIZED } from "@quire/http-api";
import type { createApiApp } from "@quire/http-api";
import type { GovernorReportStore } from "@quire/jobs";

/** A report older than this is a process that stopped (each reports every QUIRE_GOVERNOR_REPORT_MS, 5 s by default). */
export const GOVERNOR_REPORT_FRESH_MS = 30_000;

const count = (description: string) => z.int().nonnegative().meta({ description });
const governorReport = z
  .strictObject({
    processId: z
      .string()
      .meta({ description: "The reporting process (host, pid, random suffix), or Lambda container." }),
    service: z.string().meta({ description: "The services it hosts, comma-separated.", example: "summarizer" }),
    modelId: z.string(),
    limit: count("Calls it lets run at once now (the adaptive limit)."),
    inFlight: count("Calls running now."),
    waiting: z.strictObject({ interactive: count("Waiting, interactive lane."), bulk: count("Waiting, bulk lane.") }),
    successes: count("Calls that succeeded since the process started."),
    throttles: count("Calls Bedrock throttled since the process started."),
    errors: count("Calls that failed otherwise since the process started."),
    share: z.number().nonnegative().meta({ description: "The fraction of the configured quota its buckets run at." }),
    scale: z.number().positive().meta({ description: "The quota as it has learned it, against the configured one." }),
    circuit: z.string().meta({ description: "Its circuit breaker for the model: closed, open or half-open." }),
    reportedAt: z.int().nonnegative().meta({ description: "When it reported (epoch ms)." }),
  })
  .meta({ id: "GovernorReport", description: "One process's Bedrock governor for one model, as it last reported." });
const governorReports = z
  .strictObject({ governors: z.array(governorReport) })
  .meta({ id: "GovernorReports", description: "Every live process's governor, by service." });

/** GET /v1/governors: every stage process's Bedrock governor, from the reports they write to the jobs table. */
export function registerGovernorRoutes(app: ReturnType<typeof createApiApp>, reports: GovernorReportStore) {
  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/governors",
      operationId: "listGovernors",
      summary: "Every process's Bedrock governor",
      description: `Why a run is as fast as it is: each stage process's governor per model — its in-flight limit and calls in flight, calls waiting by lane, successes, throttles and errors, its share of the quota and its learned scale, its circuit. Each process reports every few seconds (QUIRE_GOVERNOR_REPORT_MS); a process silent for ${GOVERNOR_REPORT_FRESH_MS / 1000} s is left out.`,
      tags: ["Queues"],
      security: keyScope("jobs:read"),
      responses: {
        200: json(governorReports, { description: "The governors." }),
        ...errorResponses({ 401: UNAUTHORIZED, 500: INTERNAL }),
      },
    },
    async (c) => c.json({ governors: await reports.recent(GOVERNOR_REPORT_FRESH_MS) }),
  );
}
