import { loadConfig } from "@quire/config";
import { createAwsClients, runLocally, stageDependencies } from "@quire/pipeline";
import { createClassifier } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
runLocally(createClassifier(stageDependencies(config, clients, "classifier")), config, clients, "classifier");
