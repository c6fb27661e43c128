import { loadConfig } from "@quire/config";
import { createAwsClients, lambdaHandlerFor, stageDependencies } from "@quire/pipeline";
import { createClassifier } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
export const handler = lambdaHandlerFor(createClassifier(stageDependencies(config, clients, "classifier")), config, clients, "classifier");
