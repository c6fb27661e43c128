import { loadConfig } from "@quire/config";
import { createAwsClients, governedAdmission, runLocally, stageDependencies } from "@quire/pipeline";
import { createSummarizer } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
const admission = governedAdmission(config);
runLocally(config, clients, [{ consumer: createSummarizer(stageDependencies(config, clients, "summarizer")), queue: "summarizer" }], admission ? { admission } : {});
