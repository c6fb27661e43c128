import { loadConfig } from "@quire/config";
import { createAwsClients, runStageLocally, stageDependencies } from "@quire/pipeline";
import { createClassifier } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
runStageLocally(config, clients, "classifier", createClassifier(stageDependencies(config, clients, "classifier")));
