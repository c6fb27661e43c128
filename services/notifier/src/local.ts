import { serve } from "@hono/node-server";
import { loadConfig } from "@quire/config";
import { createAwsClients, runLocally } from "@quire/pipeline";
import { createNotifierService } from "./service.ts";

const config = loadConfig();
if (!config.QUIRE_API_KEY) {
  console.error("notifier: set QUIRE_API_KEY (npm start generates one and prints it).");
  process.exit(2);
}
const clients = createAwsClients();
const notifier = createNotifierService(config, clients, { apiKey: config.QUIRE_API_KEY });
const server = serve({ fetch: notifier.app.fetch, port: config.QUIRE_NOTIFIER_PORT, hostname: "127.0.0.1" }, (info) =>
  console.log(
    JSON.stringify({
      level: "info",
      msg: "notifier API listening",
      url: `http://127.0.0.1:${info.port}`,
      webhookTargets: notifier.guard.describe(),
    }),
  ),
);
runLocally(
  config,
  clients,
  [
    { consumer: notifier.events, queue: "notifier" },
    { consumer: notifier.deliveries, queue: "notifierDeliveries" },
  ],
  { onStop: () => new Promise((resolve) => server.close(resolve)) },
);
