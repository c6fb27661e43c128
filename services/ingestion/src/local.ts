import { serve } from "@hono/node-server";
import { loadConfig } from "@quire/config";
import { createAwsClients, runLocally } from "@quire/pipeline";
import { createIngestion } from "./service.ts";

const config = loadConfig();
if (!config.QUIRE_API_KEY) {
  console.error("ingestion: set QUIRE_API_KEY (npm start generates one and prints it).");
  process.exit(2);
}
const clients = createAwsClients();
const ingestion = createIngestion(config, clients, { apiKey: config.QUIRE_API_KEY });
const server = serve({ fetch: ingestion.app.fetch, port: config.QUIRE_API_PORT, hostname: "127.0.0.1" }, (info) =>
  console.log(JSON.stringify({ level: "info", msg: "API listening", url: `http://127.0.0.1:${info.port}` })),
);
runLocally(
  config,
  clients,
  [
    { consumer: ingestion.externalSubmissions, queue: "ingestion" },
    { consumer: ingestion.manifestChunks, queue: "runManifests" },
  ],
  {
    onStop: () => new Promise((resolve) => server.close(resolve)),
  },
);
