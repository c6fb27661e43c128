import { loadConfig } from "@quire/config";
import { createAwsClients, lambdaHandlerFor, stageDependencies } from "@quire/pipeline";
import { createSummarizer } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
export const handler = lambdaHandlerFor(createSummarizer(stageDependencies(config, clients, "summarizer")), config, clients, "summarizer");
