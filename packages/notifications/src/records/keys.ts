import type { ItemKey, StoreTable } from "@quire/dynamo";

/** Keys of the notifications table (single-table: subscriptions, deliveries with their log, events). */
export const SUBSCRIPTIONS = "SUBSCRIPTIONS";
export const subscriptionKey = (id: string): ItemKey => ({ pk: SUBSCRIPTIONS, sk: `SUB#${id}` });
export const deliveryKey = (id: string): ItemKey => ({ pk: `DLV#${id}`, sk: "DLV" });
export const attemptKey = (deliveryId: string, attempt: number): ItemKey => ({
  pk: `DLV#${deliveryId}`,
  sk: `ATTEMPT#${String(attempt).padStart(4, "0")}`,
});
export const eventKey = (eventId: string): ItemKey => ({ pk: `EVENT#${eventId}`, sk: "EVENT" });
/** A subscription's deliveries, newest first (for the delivery log and replay-since). */
export const BY_SUBSCRIPTION = "bySubscription";
export const bySubscriptionKey = (subscriptionId: string, createdAt: string, deliveryId: string) => ({
  gsi1pk: `SUB#${subscriptionId}`,
  gsi1sk: `${createdAt}#${deliveryId}`,
});

/** Deliveries, their log and event records expire; subscriptions do not. */
const RECORD_TTL_SECONDS = 30 * 24 * 60 * 60;
export const recordExpiresAt = (table: StoreTable) => Math.floor(table.now().getTime() / 1000) + RECORD_TTL_SECONDS;

/** An item as the store's callers see it: without keys, index keys and TTL. */
export function strip<T>(item: Record<string, unknown>, ...keys: string[]): T {
  const copy = { ...item };
  for (const key of ["pk", "sk", "gsi1pk", "gsi1sk", "expiresAt", ...keys]) delete copy[key];
  return copy as T;
}
