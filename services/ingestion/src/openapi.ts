import type { ApiKeys } from "@quire/api-keys";
import type { DeadLetters } from "@quire/dead-letters";
import type { GovernorReportStore, JobStore } from "@quire/jobs";
import { openApiDocument } from "@quire/http-api";
import { createApp, DEFAULT_MAX_DOCUMENT_BYTES, type AppDependencies } from "./app.ts";
import type { QueueDepths } from "./queue-routes.ts";
import type { Submission } from "./submission.ts";

/**
 * The ingestion API's OpenAPI 3.1 document as the defaults describe it (QUIRE_MAX_DOCUMENT_BYTES
 * unset): what services/ingestion/openapi.json holds. Only routes are declared; nothing is called.
 */
export function buildIngestionOpenApi() {
  const app = createApp({
    jobs: {} as JobStore,
    submission: {} as Submission,
    deadLetters: {} as DeadLetters,
    queues: {} as QueueDepths,
    governors: {} as GovernorReportStore,
    manifests: {} as NonNullable<AppDependencies["manifests"]>,
    keys: {} as ApiKeys,
    maxDocumentBytes: DEFAULT_MAX_DOCUMENT_BYTES,
  });
  return openApiDocument(app);
}

export const OPENAPI_PATH = new URL("../openapi.json", import.meta.url);
