import { DEFAULT_KEY_LIMITS, type KeyLimits } from "./limits.ts";
import { SCOPES, type Scope } from "./scopes.ts";
import { hashKey, keyIdOf, sameSecret } from "./secret.ts";
import { keyStatus, type ApiKeyRecord, type ApiKeyStore } from "./store.ts";

/** Who is calling: the key that authenticated the request, what it may do, and its limits. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  limits: KeyLimits;
}

/** QUIRE_API_KEY: holds every scope, is not in the store, and cannot be revoked there (change the setting). */
export const BOOTSTRAP_KEY_ID = "bootstrap";

export interface KeyAuthenticator {
  /** The principal a presented `x-api-key` stands for, or undefined (unknown, revoked, expired, malformed). */
  authenticate(presented: string): Promise<Principal | undefined>;
  /** Drops what this process remembers of a key (after revoking or rotating it here). */
  forget(keyId: string): void;
}

export interface AuthenticatorOptions {
  store: ApiKeyStore;
  /** QUIRE_API_KEY, when set. */
  bootstrapKey?: string;
  /** Limits of keys created without their own (and of the bootstrap key). */
  defaultLimits?: KeyLimits;
  /**
   * How long a verified key is trusted without reading the store again. It bounds how long a
   * revocation takes to reach every API process; it spares the store one read per request.
   */
  cacheMs?: number;
  /** lastUsedAt is written at most this often per key per process. */
  touchEveryMs?: number;
  now?: () => Date;
  /** Where a failed lastUsedAt write is reported (it never fails a request). */
  onTouchError?: (error: unknown, keyId: string) => void;
}

const MAX_UNKNOWN = 10_000;

export function createKeyAuthenticator(options: AuthenticatorOptions): KeyAuthenticator {
  const now = options.now ?? (() => new Date());
  const cacheMs = options.cacheMs ?? 10_000;
  const touchEveryMs = options.touchEveryMs ?? 60_000;
  const defaultLimits = options.defaultLimits ?? DEFAULT_KEY_LIMITS;
  const bootstrapHash = options.bootstrapKey ? hashKey(options.bootstrapKey) : undefined;
  const bootstrap: Principal = {
    keyId: BOOTSTRAP_KEY_ID,
    name: "bootstrap (QUIRE_API_KEY)",
    scopes: new Set(SCOPES),
    limits: defaultLimits,
  };
  const verified = new Map<string, { record: ApiKeyRecord; until: number }>();
  /**
   * Ids no key has, remembered for `cacheMs` (at most MAX_UNKNOWN of them): a flood of
   * well-formed made-up keys costs one store read per id, not one per request. Safe to cache:
   * an id becomes known only when its key is created, and nobody presents a key before that.
   */
  const unknown = new Map<string, number>();
  /** Bumped by forget(): a store read that began before it must not cache what it read. */
  const generation = new Map<string, number>();
  const touched = new Map<string, number>();

  const rememberUnknown = (keyId: string, at: Date) => {
    if (unknown.size >= MAX_UNKNOWN) {
      for (const [id, until] of unknown) if (until <= at.getTime()) unknown.delete(id);
      if (unknown.size >= MAX_UNKNOWN) unknown.delete(unknown.keys().next().value!);
    }
    unknown.set(keyId, at.getTime() + cacheMs);
  };

  const principalOf = (record: ApiKeyRecord): Principal => ({
    keyId: record.keyId,
    name: record.name,
    scopes: new Set(record.scopes),
    limits: record.limits ?? defaultLimits,
  });

  const recordUse = (keyId: string, at: Date) => {
    const last = touched.get(keyId);
    if (last !== undefined && at.getTime() - last < touchEveryMs) return;
    touched.set(keyId, at.getTime());
    options.store.touch(keyId, at).catch((error: unknown) => options.onTouchError?.(error, keyId));
  };

  return {
    async authenticate(presented) {
      const presentedHash = hashKey(presented);
      if (bootstrapHash && sameSecret(presentedHash, bootstrapHash)) return bootstrap;
      const keyId = keyIdOf(presented);
      if (!keyId) return undefined;
      const at = now();
      if ((unknown.get(keyId) ?? 0) > at.getTime()) return undefined;
      let cached = verified.get(keyId);
      // Revoked or rotated here while a read was in flight (forget() bumped the generation): what
      // it read may predate that, so it is read again rather than cached.
      for (let reads = 0; !cached || cached.until <= at.getTime(); reads++) {
        const readAt = generation.get(keyId) ?? 0;
        const record = await options.store.get(keyId);
        const current = (generation.get(keyId) ?? 0) === readAt;
        if (!current && reads < 2) continue;
        if (!record) {
          verified.delete(keyId);
          if (current) rememberUnknown(keyId, at);
          return undefined;
        }
        cached = { record, until: at.getTime() + cacheMs };
        if (current) verified.set(keyId, cached);
        break;
      }
      const { record } = cached;
      // The hash decides, compared in constant time; the id only found the record.
      if (!sameSecret(presentedHash, record.hash)) return undefined;
      const status = keyStatus(record, at);
      if (status !== "active" && status !== "expiring") return undefined;
      recordUse(keyId, at);
      return principalOf(record);
    },
    forget(keyId) {
      verified.delete(keyId);
      unknown.delete(keyId);
      generation.set(keyId, (generation.get(keyId) ?? 0) + 1);
    },
  };
}
