import { loadConfig } from "@quire/config";
import { createAwsClients, lambdaHandlerFor, stageDependencies } from "@quire/pipeline";
import { createSummarizer } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
const summarizer = createSummarizer(stageDependencies(config, clients, "summarizer"));
/** Bulk documents, from the summarizer queue. */
export const handler = lambdaHandlerFor(summarizer, config, clients, "summarizer");
/** Sync-mode documents (a caller waits), from their own queue, so they never wait behind a bulk backlog. */
export const interactive = lambdaHandlerFor(summarizer, config, clients, "summarizerInteractive");
