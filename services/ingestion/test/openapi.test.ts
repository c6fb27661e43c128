import type { ApiKeys } from "@quire/api-keys";
import type { DeadLetters } from "@quire/dead-letters";
import type { GovernorReportStore, JobStore } from "@quire/jobs";
import { specifyOpenApiDocument } from "@quire/http-api/testing";
import { createApp, DEFAULT_MAX_DOCUMENT_BYTES, type AppDependencies } from "../src/app.ts";
import { buildIngestionOpenApi, OPENAPI_PATH } from "../src/openapi.ts";
import type { QueueDepths } from "../src/queue-routes.ts";
import type { Submission } from "../src/submission.ts";

specifyOpenApiDocument({
  service: "ingestion",
  path: OPENAPI_PATH,
  build: buildIngestionOpenApi,
  app: () =>
    createApp({
      jobs: {} as JobStore,
      submission: {} as Submission,
      deadLetters: {} as DeadLetters,
      queues: {} as QueueDepths,
      governors: {} as GovernorReportStore,
      manifests: {} as NonNullable<AppDependencies["manifests"]>,
      keys: {} as ApiKeys,
      maxDocumentBytes: DEFAULT_MAX_DOCUMENT_BYTES,
    }),
});
