import { loadConfig } from "@quire/config";
import { createAwsClients, createBatcherFor, lambdaHandlerFor } from "@quire/pipeline";

const config = loadConfig();
const clients = createAwsClients();
/** `run.batch` (from ingestion, and the batcher's own delayed checks), one message per invocation. */
export const handler = lambdaHandlerFor(createBatcherFor(config, clients), config, clients, "batcher");
