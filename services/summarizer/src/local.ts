import { loadConfig } from "@quire/config";
import { createAwsClients, runStageLocally, stageDependencies } from "@quire/pipeline";
import { createSummarizer } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
runStageLocally(config, clients, "summarizer", createSummarizer(stageDependencies(config, clients, "summarizer")));
