import type { QuireConfig } from "@quire/config";
import { createJobStore } from "@quire/jobs";
import { createNotificationStore } from "@quire/notifications";
import type { AwsClients } from "@quire/pipeline";
import { metricsFor } from "@quire/telemetry";
import { createAddressGuard } from "@quire/webhooks";
import { createNotifierApi } from "./api.ts";
import { createAttemptQueue } from "./delivery/queue.ts";
import { createDeliveryWorker } from "./delivery/worker.ts";
import { createNotifier } from "./handler.ts";
import { deliverySettings } from "./settings.ts";

/**
 * The notifier, assembled from config and clients: its HTTP API, the consumer of job and run
 * events (fan-out into deliveries), and the delivery worker. Identical in Lambda and locally.
 */
export function createNotifierService(config: QuireConfig, clients: AwsClients, options: { apiKey: string }) {
  const store = createNotificationStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_NOTIFICATIONS_NAME });
  const queue = createAttemptQueue({ sqs: clients.sqs, queueUrl: config.QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL });
  const guard = createAddressGuard({ allowlist: config.QUIRE_WEBHOOK_ALLOWLIST });
  const settings = deliverySettings(config);
  return {
    store,
    guard,
    settings,
    app: createNotifierApi({ store, queue, guard, ses: clients.ses, settings, apiKey: options.apiKey }),
    // The jobs table, read only: every announcement is checked against its job or run first.
    events: createNotifier({
      store,
      queue,
      outcomes: createJobStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME }),
    }),
    deliveries: createDeliveryWorker({
      store,
      queue,
      guard,
      ses: clients.ses,
      settings,
      metrics: metricsFor("notifier"),
    }),
  };
}
export type NotifierService = ReturnType<typeof createNotifierService>;
