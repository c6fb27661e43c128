import { loadConfig } from "@quire/config";
import { createAwsClients, governedAdmission, runLocally, stageDependencies } from "@quire/pipeline";
import { createClassifier } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
const admission = governedAdmission(config);
runLocally(config, clients, [{ consumer: createClassifier(stageDependencies(config, clients, "classifier")), queue: "classifier" }], admission ? { admission } : {});
