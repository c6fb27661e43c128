import { loadConfig } from "@quire/config";
import { createAwsClients, lambdaHandlerFor, stageDependencies } from "@quire/pipeline";
import { createClassifier } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
const classifier = createClassifier(stageDependencies(config, clients, "classifier"));
/** Bulk documents, from the classifier queue. */
export const handler = lambdaHandlerFor(classifier, config, clients, "classifier");
/** Sync-mode documents (a caller waits), from their own queue, so they never wait behind a bulk backlog. */
export const interactive = lambdaHandlerFor(classifier, config, clients, "classifierInteractive");
