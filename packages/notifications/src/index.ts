export {
  renderConfirmationEmail,
  renderJobCompletedEmail,
  renderJobFailedEmail,
  renderPingEmail,
  renderRunDigestEmail,
  type RenderedEmail,
} from "./email.ts";
export {
  createNotificationStore,
  type AttemptRecord,
  type Delivery,
  type DeliveryStatus,
  type NotificationStore,
} from "./store.ts";
export {
  compileSubscriptionFilter,
  defaultEmailEvents,
  emailSubscriptionInput,
  InvalidEventPatternError,
  MAX_FILTER_BYTES,
  MAX_FILTER_DEPTH,
  subscriptionFilter,
  subscriptionInput,
  subscriptionView,
  subscriptionWants,
  webhookSubscriptionInput,
  type EmailSubscription,
  type SigningSecret,
  type Subscription,
  type SubscriptionFilter,
  type SubscriptionInput,
  type SubscriptionStatus,
  type WebhookSubscription,
} from "./subscriptions.ts";
export {
  UnverifiedEventError,
  verifiedDetail,
  type OutcomeRecords,
  type VerifiableJob,
  type VerifiableRun,
} from "./verify-event.ts";
