import { randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A ULID body: 48 bits of milliseconds then 80 random bits, Crockford base32. Ids sort by
 * creation time, which keeps a run's jobs in submission order in the byRun index.
 */
function ulid(now = Date.now()): string {
  let time = "";
  for (let i = 0, t = now; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  const random = randomBytes(16);
  let tail = "";
  for (let i = 0; i < 16; i++) tail += CROCKFORD[random[i]! % 32];
  return time + tail;
}

export const newJobId = () => `job_${ulid()}`;
export const newRunId = () => `run_${ulid()}`;
export const newSubscriptionId = () => `sub_${ulid()}`;
export const newDeliveryId = () => `dlv_${ulid()}`;
