import { loadConfig } from "@quire/config";
import { createAwsClients, createBatcherFor, runLocally } from "@quire/pipeline";

const config = loadConfig();
const clients = createAwsClients();
runLocally(config, clients, [{ consumer: createBatcherFor(config, clients), queue: "batcher" }]);
