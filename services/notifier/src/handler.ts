import { createHash } from "node:crypto";
import {
  eventEnvelope,
  notificationTypeOf,
  NOTIFIED_DETAIL_TYPES,
  parseEventDetail,
  type WebhookPayload,
} from "@quire/contracts";
import {
  StaleEventError,
  subscriptionWants,
  UnverifiedEventError,
  verifiedDetail,
  type NotificationStore,
  type OutcomeRecords,
} from "@quire/notifications";
import { defineConsumer, PermanentError } from "@quire/runtime";
import { z } from "zod";
import type { AttemptQueue } from "./delivery/queue.ts";

const notifiableEvent = eventEnvelope.extend({ "detail-type": z.enum(NOTIFIED_DETAIL_TYPES) });

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** 26 Crockford characters from a hash: ids that are stable for the same inputs. */
function stableId(prefix: string, ...parts: string[]): string {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest();
  let body = "";
  for (let i = 0; i < 26; i++) body += CROCKFORD[digest[i]! % 32];
  return `${prefix}_${body}`;
}
/**
 * What an announcement is about: a job's completion or failure, or a run's completion with its
 * final counts (a run whose failed jobs were redriven completes again, with other counts — a new
 * announcement). Every event claiming the same outcome is the same announcement.
 */
export function outcomeKeyOf(detailType: string, detail: Record<string, unknown>): string {
  if (detailType === "Run Completed")
    return `${detailType}:${String(detail.runId)}:${String(detail.completed)}/${String(detail.failed)}`;
  return `${detailType}:${String(detail.jobId)}`;
}

/** One delivery per (announcement, subscription), whatever happens to the event's SQS message. */
export const deliveryIdFor = (eventId: string, subscriptionId: string) => stableId("dlv", eventId, subscriptionId);
/** A bulk replay's delivery of `deliveryId`: one per delivery replayed, so concurrent bulk replays make it once. */
export const replayIdFor = (deliveryId: string) => stableId("dlv", "replay", deliveryId);
/** The Standard Webhooks message id: one per event, kept by every attempt and replay. */
export const messageIdFor = (eventId: string) => stableId("msg", eventId);

/**
 * The notifier's event consumer: a job or run outcome from the bus becomes one delivery per
 * subscription that wants it (type, status, filter), each queued as its own first attempt.
 * A redelivered event finds its record and either does nothing or finishes an interrupted fan-out.
 */
export function createNotifier(deps: { store: NotificationStore; queue: AttemptQueue; outcomes: OutcomeRecords }) {
  return defineConsumer({
    name: "notifier",
    schema: notifiableEvent,
    async handle(event, ctx) {
      const detailType = event["detail-type"];
      let data: Record<string, unknown>;
      try {
        data = parseEventDetail(detailType, event.detail) as Record<string, unknown>;
      } catch (error) {
        throw new PermanentError("SCHEMA_VIOLATION", `${detailType} detail: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const correlation = {
        eventId: event.id,
        ...(data.jobId ? { jobId: data.jobId } : {}),
        ...(data.runId ? { runId: data.runId } : {}),
      };
      // Announce what the job store holds, never what an event claims (see verifiedDetail).
      try {
        data = await verifiedDetail(detailType, data, deps.outcomes);
      } catch (error) {
        if (error instanceof StaleEventError) {
          ctx.log.info("event superseded by a redrive: nothing to announce", { ...correlation, reason: error.message });
          return;
        }
        if (error instanceof UnverifiedEventError)
          throw new PermanentError(error.code, `${error.message} (source ${event.source}, event ${event.id})`, {
            cause: error,
          });
        throw error;
      }
      // One announcement per outcome, however many events claim it (a publisher that died between
      // PutEvents and marking it published puts a second; anyone may put a copy): deliveries and
      // the webhook-id are keyed by the outcome, so a subscriber hears of it once.
      const announcementId = outcomeKeyOf(detailType, data);
      const payload: WebhookPayload = { type: notificationTypeOf[detailType], timestamp: event.time, data };
      const subscriptions = (await deps.store.listSubscriptions()).filter((subscription) =>
        subscriptionWants(subscription, payload),
      );
      // Nobody to tell, nothing to remember: the record only keeps a redelivery from fanning out
      // twice, and with no deliveries there is nothing to repeat (a copy seen after a subscription
      // was made fans out to it, once). Two writes a job fewer when no one listens.
      if (subscriptions.length === 0) {
        ctx.log.debug("no subscription wants this outcome", correlation);
        return;
      }
      const { fannedOut } = await deps.store.recordEvent(announcementId, detailType);
      if (fannedOut) {
        ctx.log.info("event already notified", correlation);
        return;
      }
      const firstAttempts = [];
      for (const subscription of subscriptions) {
        const { delivery } = await deps.store.createDelivery({
          id: deliveryIdFor(announcementId, subscription.id),
          subscriptionId: subscription.id,
          eventId: announcementId,
          eventType: notificationTypeOf[detailType],
          messageId: messageIdFor(announcementId),
          payload,
        });
        // Created now, or created by an interrupted earlier try and never attempted: queue it.
        if (delivery.attempts === 0 && delivery.status === "pending")
          firstAttempts.push({ deliveryId: delivery.id, attempt: 1 });
      }
      await deps.queue.enqueueAll(firstAttempts);
      await deps.store.markEventFannedOut(announcementId, subscriptions.length);
      ctx.log.info(`notifying ${payload.type}`, { ...correlation, subscriptions: subscriptions.length });
    },
  });
}
