import { loadConfig } from "@quire/config";
import { createAwsClients, lambdaHandlerFor, withMetricsFlush } from "@quire/pipeline";
import { handle } from "hono/aws-lambda";
import { createIngestion } from "./service.ts";

const config = loadConfig();
const clients = createAwsClients();
if (!config.QUIRE_API_KEY) throw new Error("QUIRE_API_KEY is required");
const ingestion = createIngestion(config, clients, { apiKey: config.QUIRE_API_KEY });

/** API Gateway (HTTP API) or Function URL → the Hono app. */
export const api = withMetricsFlush("ingestion", handle(ingestion.app));
/** The ingestion queue (Document Submitted from the bus) → partial batch responses. */
export const queue = lambdaHandlerFor(ingestion.externalSubmissions, config, clients, "ingestion");
/** A manifest run's chunks, each its documents' jobs written and published. */
export const manifests = lambdaHandlerFor(ingestion.manifestChunks, config, clients, "runManifests");
