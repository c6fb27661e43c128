import { loadConfig } from "@quire/config";
import { createAwsClients, runLocally } from "@quire/pipeline";
import { createNotifier } from "./handler.ts";

const config = loadConfig();
const clients = createAwsClients();
runLocally(createNotifier({ dynamodb: clients.dynamodb, tableName: config.QUIRE_TABLE_NOTIFICATIONS_NAME }), config, clients, "notifier");
