import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionally, documentClient, epochSeconds, getItem, type ItemKey, type StoreTable } from "@quire/dynamo";
import { KeyNotActiveError, KeyNotFoundError } from "./errors.ts";
import type { KeyLimits } from "./limits.ts";
import type { Scope } from "./scopes.ts";
import { hashKey, keyPreview, newKey } from "./secret.ts";

/** A key as stored: its hash, never the key. */
export interface ApiKeyRecord {
  keyId: string;
  name: string;
  scopes: Scope[];
  /** Its own limits; without them the deployment's defaults (QUIRE_KEY_*) apply. */
  limits?: KeyLimits;
  hash: string;
  createdAt: string;
  /** Which key created it (`bootstrap` for QUIRE_API_KEY). */
  createdBy: string;
  /** Updated at most once a minute per API process, so it is approximate by that much. */
  lastUsedAt?: string;
  revokedAt?: string;
  /** A rotated key keeps working until then: the overlap in which its holders switch. */
  validUntil?: string;
  rotatedTo?: string;
  rotatedFrom?: string;
}

export type KeyStatus = "active" | "expiring" | "expired" | "revoked";

/** What listings and answers show: everything but the hash, with a status. */
export type ApiKeyView = Omit<ApiKeyRecord, "hash"> & { status: KeyStatus; preview: string };

/** A key that no longer works stays listed this long (then TTL removes it): who had what, and when it ended. */
const RETIRED_KEY_RETENTION_MS = 30 * 24 * 3600_000;

export function keyStatus(record: ApiKeyRecord, now: Date): KeyStatus {
  if (record.revokedAt) return "revoked";
  if (record.validUntil) return Date.parse(record.validUntil) > now.getTime() ? "expiring" : "expired";
  return "active";
}

export function viewOf(record: ApiKeyRecord, now: Date): ApiKeyView {
  const { hash: _hash, ...rest } = record;
  return { ...rest, status: keyStatus(record, now), preview: keyPreview(record.keyId) };
}

export interface NewKey {
  name: string;
  scopes: readonly Scope[];
  limits?: KeyLimits;
  createdBy: string;
}

/** The key in clear, exactly once: in the answer to its creation (or rotation). */
export interface IssuedKey {
  key: string;
  record: ApiKeyRecord;
}

export interface ApiKeyStore {
  create(input: NewKey): Promise<IssuedKey>;
  get(keyId: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  /** Revoking is final and idempotent; a revoked key fails authentication within the authenticator's cache time. */
  revoke(keyId: string): Promise<ApiKeyRecord>;
  /**
   * A new key with the same name, scopes and limits; the old one keeps working for
   * `overlapSeconds` (0: it stops now). Conditioned on the old key being active and not yet
   * rotated, so of two concurrent rotations exactly one issues a successor.
   */
  rotate(keyId: string, options: { overlapSeconds: number; rotatedBy: string }): Promise<IssuedKey>;
  /** Records a use (best effort; the authenticator spaces these out). */
  touch(keyId: string, at: Date): Promise<void>;
}

const keyOf = (keyId: string): ItemKey => ({ pk: `KEY#${keyId}`, sk: "KEY" });

export function createApiKeyStore(options: {
  client: DynamoDBClient;
  tableName: string;
  now?: () => Date;
}): ApiKeyStore {
  const table: StoreTable = {
    db: documentClient(options.client),
    tableName: options.tableName,
    now: options.now ?? (() => new Date()),
  };
  const { db, tableName } = table;

  const recordOf = (item: Record<string, unknown>): ApiKeyRecord => {
    const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...record } = item;
    return record as unknown as ApiKeyRecord;
  };
  const issue = (input: NewKey, extra: Partial<ApiKeyRecord> = {}): IssuedKey => {
    const { keyId, key } = newKey();
    const record: ApiKeyRecord = {
      keyId,
      name: input.name,
      scopes: [...input.scopes],
      ...(input.limits ? { limits: input.limits } : {}),
      hash: hashKey(key),
      createdAt: table.now().toISOString(),
      createdBy: input.createdBy,
      ...extra,
    };
    return { key, record };
  };
  const get = async (keyId: string) => {
    const item = await getItem(table, keyOf(keyId));
    return item ? recordOf(item) : undefined;
  };

  return {
    async create(input) {
      const issued = issue(input);
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keyOf(issued.record.keyId), ...issued.record },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return issued;
    },

    get,

    async list() {
      const records: ApiKeyRecord[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
        );
        for (const item of page.Items ?? []) if (item.sk === "KEY") records.push(recordOf(item));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
    },

    async revoke(keyId) {
      const now = table.now();
      const revoked = await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keyOf(keyId),
            UpdateExpression: "SET revokedAt = :now, expiresAt = :expires",
            ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(revokedAt)",
            ExpressionAttributeValues: {
              ":now": now.toISOString(),
              ":expires": epochSeconds(new Date(now.getTime() + RETIRED_KEY_RETENTION_MS)),
            },
          }),
        ),
      );
      const record = await get(keyId);
      if (!record) throw new KeyNotFoundError(keyId);
      if (!revoked && !record.revokedAt) throw new Error(`revoking ${keyId} lost a race it cannot have lost`);
      return record;
    },

    async rotate(keyId, { overlapSeconds, rotatedBy }) {
      const previous = await get(keyId);
      if (!previous) throw new KeyNotFoundError(keyId);
      const now = table.now();
      const status = keyStatus(previous, now);
      if (status !== "active") throw new KeyNotActiveError(keyId, status === "expiring" ? "already rotated" : status);
      const validUntil = new Date(now.getTime() + overlapSeconds * 1000);
      const successor = issue(
        { name: previous.name, scopes: previous.scopes, limits: previous.limits, createdBy: rotatedBy },
        { rotatedFrom: keyId },
      );
      // Two writes, not a transaction (dynalite has none): the successor first, then the old key,
      // conditioned on it being active and not yet rotated. A rotation that loses that condition
      // deletes its successor; one that crashes between the writes leaves a successor whose key
      // was never shown to anyone, which is inert.
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...keyOf(successor.record.keyId), ...successor.record },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      const written = await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keyOf(keyId),
            UpdateExpression: "SET validUntil = :until, rotatedTo = :successor, expiresAt = :expires",
            ConditionExpression:
              "attribute_exists(pk) AND attribute_not_exists(revokedAt) AND attribute_not_exists(rotatedTo)",
            ExpressionAttributeValues: {
              ":until": validUntil.toISOString(),
              ":successor": successor.record.keyId,
              ":expires": epochSeconds(new Date(validUntil.getTime() + RETIRED_KEY_RETENTION_MS)),
            },
          }),
        ),
      );
      if (!written) {
        await db.send(new DeleteCommand({ TableName: tableName, Key: keyOf(successor.record.keyId) }));
        const current = await get(keyId);
        if (!current) throw new KeyNotFoundError(keyId);
        throw new KeyNotActiveError(keyId, current.rotatedTo ? "already rotated" : keyStatus(current, table.now()));
      }
      return successor;
    },

    async touch(keyId, at) {
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keyOf(keyId),
            UpdateExpression: "SET lastUsedAt = :at",
            ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :at)",
            ExpressionAttributeValues: { ":at": at.toISOString() },
          }),
        ),
      );
    },
  };
}
