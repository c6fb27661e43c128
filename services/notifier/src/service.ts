import type { QuireConfig } from "@quire/config";
import { createJobStore } from "@quire/jobs";
import { createNotificationStore, kmsSecretBox } from "@quire/notifications";
import { apiKeysOf, type AwsClients } from "@quire/pipeline";
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
export function createNotifierService(config: QuireConfig, clients: AwsClients, options: { apiKey?: string }) {
  const store = createNotificationStore({
    client: clients.dynamodb,
    tableName: config.QUIRE_TABLE_NOTIFICATIONS_NAME,
    // Webhook signing secrets are sealed under the deployment's KMS key (the API: Encrypt; the
    // delivery worker: Decrypt, cached in memory for a few minutes per secret).
    secrets: kmsSecretBox({ kms: clients.kms, keyId: config.QUIRE_KEY_SECRETS_ID }),
  });
  const queue = createAttemptQueue({ sqs: clients.sqs, queueUrl: config.QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL });
  const guard = createAddressGuard({ allowlist: config.QUIRE_WEBHOOK_ALLOWLIST });
  const settings = deliverySettings(config);
  return {
    store,
    guard,
    settings,
    app: createNotifierApi({
      store,
      queue,
      guard,
      ses: clients.ses,
      settings,
      keys: apiKeysOf(config, clients, options.apiKey),
      corsOrigins: config.QUIRE_CONSOLE_ORIGINS,
    }),
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
