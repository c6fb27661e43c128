import { loadConfig } from "@quire/config";
import { createAwsClients, lambdaHandlerFor, withMetricsFlush } from "@quire/pipeline";
import { handle } from "hono/aws-lambda";
import { createNotifierService } from "./service.ts";

const config = loadConfig();
const clients = createAwsClients();
if (!config.QUIRE_API_KEY) throw new Error("QUIRE_API_KEY is required");
const notifier = createNotifierService(config, clients, { apiKey: config.QUIRE_API_KEY });

/** Job and run events from the bus rule's queue: fan-out into deliveries. */
export const handler = lambdaHandlerFor(notifier.events, config, clients, "notifier");
/** The delivery queue: one attempt per message. */
export const deliveries = lambdaHandlerFor(notifier.deliveries, config, clients, "notifierDeliveries");
/** The subscriptions API behind an HTTP API / function URL. */
export const api = withMetricsFlush("notifier", handle(notifier.app));
