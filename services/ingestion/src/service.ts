import { loadPriceTable } from "@quire/bedrock";
import type { QuireConfig } from "@quire/config";
import { documentSubmittedExternally, eventEnvelope } from "@quire/contracts";
import { createGovernorReportStore, createJobStore } from "@quire/jobs";
import { createDeadLetters } from "@quire/dead-letters";
import {
  BATCH_LIMITS,
  createEventPublisher,
  createJobLifecycle,
  DocumentPublisher,
  queueOf,
  type AwsClients,
} from "@quire/pipeline";
import { topology, type QueueName } from "@quire/topology";
import { ApiError } from "@quire/http-api";
import { defineConsumer, PermanentError } from "@quire/runtime";
import { metricsFor } from "@quire/telemetry";
import { z } from "zod";
import { apiKeysOf } from "@quire/pipeline";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { newManifestId } from "@quire/contracts";
import { createApp, parseRunDocument } from "./app.ts";
import { MANIFEST_UPLOAD_SECONDS, manifestUploadKey, runManifestChunk, type RunManifestChunk } from "./manifests.ts";
import { createQueueDepths } from "./queue-routes.ts";
import { createSubmission } from "./submission.ts";

/** Ingestion's parts, wired from config and clients: the same in Lambda and locally. */
export function createIngestion(config: QuireConfig, clients: AwsClients, options: { apiKey?: string }) {
  const jobs = createJobStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME });
  const manifestQueueUrl = queueOf(config, "runManifests").queueUrl;
  /** A manifest run's next chunk, on ingestion's own queue. */
  async function sendManifestChunk(chunk: RunManifestChunk) {
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: manifestQueueUrl, MessageBody: JSON.stringify(chunk) }));
  }
  const lifecycle = createJobLifecycle({
    jobs,
    events: createEventPublisher({
      client: clients.events,
      busName: config.QUIRE_BUS_EVENTS_NAME,
      service: "ingestion",
    }),
    metrics: metricsFor("ingestion"),
  });
  const submission = createSubmission({
    jobs,
    publisher: new DocumentPublisher(clients.sns, config.QUIRE_TOPIC_DOCUMENTS_ARN),
    s3: clients.s3,
    bucket: config.QUIRE_BUCKET_DOCUMENTS_NAME,
    claimCheckBytes: config.QUIRE_CLAIM_CHECK_BYTES,
    maxDocumentBytes: config.QUIRE_MAX_DOCUMENT_BYTES,
    failJob: async (jobId, reason) => void (await lifecycle.failJob(jobId, reason)),
    manifestChunks: { send: sendManifestChunk },
  });
  const queues = (Object.keys(topology.queues) as QueueName[]).map((name) => ({ name, ...queueOf(config, name) }));
  const app = createApp({
    jobs,
    submission,
    keys: apiKeysOf(config, clients, options.apiKey),
    maxDocumentBytes: config.QUIRE_MAX_DOCUMENT_BYTES,
    maxRunBodyBytes: config.QUIRE_MAX_RUN_BODY_BYTES,
    inflightBodyBytes: config.QUIRE_MAX_INFLIGHT_BODY_BYTES,
    planning: {
      requestsPerMinute: config.QUIRE_BEDROCK_RPM,
      tokensPerMinute: config.QUIRE_BEDROCK_TPM,
      meanLatencyMs: config.QUIRE_BEDROCK_LATENCY_MS,
    },
    inference: {
      batchAvailable: Boolean(config.QUIRE_BATCH_ROLE_ARN),
      batchTurnaroundSeconds: config.QUIRE_BATCH_TURNAROUND_SECONDS,
      batchMinRecords: BATCH_LIMITS.minRecords,
      modelId: config.QUIRE_MODEL_ID,
    },
    // Every queue of the topology with its DLQ (ingestion's deployment links them all: uses.deadLetters).
    deadLetters: createDeadLetters({ sqs: clients.sqs, queues }),
    queues: createQueueDepths({
      sqs: clients.sqs,
      queues: queues.map((queue) => ({ ...queue, consumer: topology.queues[queue.name].consumer })),
    }),
    governors: createGovernorReportStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME }),
    corsOrigins: config.QUIRE_CONSOLE_ORIGINS,
    prices: loadPriceTable(config.QUIRE_BEDROCK_PRICES),
    manifests: {
      // Straight to S3: API Gateway would take at most 10 MB of a body.
      async createUpload() {
        const manifestId = newManifestId();
        const url = await getSignedUrl(
          clients.s3,
          new PutObjectCommand({ Bucket: config.QUIRE_BUCKET_DOCUMENTS_NAME, Key: manifestUploadKey(manifestId) }),
          { expiresIn: MANIFEST_UPLOAD_SECONDS },
        );
        return { manifestId, url, expiresAt: new Date(Date.now() + MANIFEST_UPLOAD_SECONDS * 1000).toISOString() };
      },
    },
  });

  /**
   * Upstream systems may put `Document Submitted` on the bus instead of calling the API. The
   * EventBridge event id is the default idempotency key, so a redelivered event never
   * submits the document twice.
   */
  const externalSubmissions = defineConsumer({
    name: "ingestion",
    schema: eventEnvelope.extend({
      "detail-type": z.literal("Document Submitted"),
      detail: documentSubmittedExternally,
    }),
    async handle(event, ctx) {
      // The bus takes PutEvents from anyone the account lets in: only the sources configured
      // (QUIRE_EXTERNAL_SOURCES) may submit; the rest are dead-lettered with the reason.
      if (!config.QUIRE_EXTERNAL_SOURCES.includes(event.source)) {
        throw new PermanentError(
          "SOURCE_NOT_ALLOWED",
          `Document Submitted from ${event.source}, which QUIRE_EXTERNAL_SOURCES does not list.`,
        );
      }
      // The schema already held the detail to the API's bounds (metadata, title): a bad one was
      // dead-lettered as SCHEMA_VIOLATION before this runs.
      const { text, title, metadata, idempotencyKey } = event.detail;
      try {
        const { job, created } = await submission.submitDocument(
          { text, title, metadata, idempotencyKey: idempotencyKey ?? `eventbridge:${event.id}` },
          "bulk",
        );
        ctx.log.info(created ? "accepted document from the bus" : "document already accepted", {
          jobId: job.jobId,
          source: event.source,
        });
      } catch (error) {
        throw asConsumerFailure(error);
      }
    },
  });

  /**
   * A manifest run, a chunk at a time: each message writes and publishes its documents' jobs and
   * queues the next chunk, so no invocation holds the manifest or runs long. A chunk delivered
   * twice writes the same jobs and republishes what the stages already ignore.
   */
  const manifestChunks = defineConsumer({
    name: "ingestion-manifests",
    schema: runManifestChunk,
    async handle(chunk, ctx) {
      const next = await submission.expandManifestChunk(chunk, parseRunDocument);
      if (next) await sendManifestChunk(next);
      ctx.log.info(next ? "manifest chunk expanded" : "manifest expanded", {
        runId: chunk.runId,
        through: next?.fromIndex ?? "end",
      });
    },
  });

  return { app, externalSubmissions, manifestChunks, jobs };
}

/**
 * What the API answers with a 4xx the bus gets as a permanent failure, dead-lettered at once
 * with the same code (a document too large, a reused idempotency key), except a submission still
 * in progress, which a redelivery may find done. 5xx (PUBLISH_FAILED) and the rest are retried.
 */
export function asConsumerFailure(error: unknown): unknown {
  if (error instanceof ApiError && error.status < 500 && error.code !== "SUBMISSION_IN_PROGRESS") {
    return new PermanentError(error.code, error.message, { cause: error });
  }
  return error;
}
