export { createNotifierApi, deliveriesToReplay, deliveryView, MAX_BODY_BYTES } from "./api.ts";
export {
  attemptMessage,
  createAttemptQueue,
  MAX_SQS_DELAY_SECONDS,
  type AttemptMessage,
  type AttemptQueue,
} from "./delivery/queue.ts";
export { createDeliveryWorker } from "./delivery/worker.ts";
export { createNotifier, deliveryIdFor, messageIdFor, replayIdFor } from "./handler.ts";
export { createNotifierService, type NotifierService } from "./service.ts";
export { deliverySettings, type DeliverySettings } from "./settings.ts";
export { wiring } from "./wiring.ts";
