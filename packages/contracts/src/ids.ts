import { createHash, randomBytes } from "node:crypto";

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
export const newManifestId = () => `mfs_${ulid()}`;

/**
 * The id of the `index`th document of a run expanded from a manifest: the same run and line give
 * the same id, so an expansion delivered twice writes the same jobs (createJob is conditional),
 * and ids sort by line within the run (the run's time, then the index), as the byRun index lists them.
 */
export function runDocumentJobId(runId: string, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 32 ** 8) throw new RangeError(`index ${index}`);
  let position = "";
  for (let i = 0, n = index; i < 8; i++, n = Math.floor(n / 32)) position = CROCKFORD[n % 32] + position;
  const digest = createHash("sha256").update(runId).digest();
  let salt = "";
  for (let i = 0; i < 8; i++) salt += CROCKFORD[digest[i]! % 32];
  return `job_${runId.slice(4, 14)}${position}${salt}`;
}
