import { loadConfig } from "@quire/config";
import { createAwsClients, runLocally, stageDependencies } from "@quire/pipeline";
import { createSummarizer } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
runLocally(createSummarizer(stageDependencies(config, clients, "summarizer")), config, clients, "summarizer");
