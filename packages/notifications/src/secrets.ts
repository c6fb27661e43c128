import { DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";

/**
 * A webhook signing secret as stored: KMS ciphertext (base64) under the deployment's own key,
 * and that key's ARN. The plaintext never reaches DynamoDB.
 */
export interface SealedSecret {
  ciphertext: string;
  keyId: string;
}

/** A secret in plain text: what the API generates, before the store seals it. */
export interface PlaintextSecret {
  secret: string;
}

/**
 * Seals and opens signing secrets. Each ciphertext is bound to its subscription through the KMS
 * encryption context, so a ciphertext copied onto another subscription's record (a bad restore,
 * a crafted write) does not decrypt there: KMS answers InvalidCiphertextException.
 */
export interface SecretBox {
  seal(subscriptionId: string, secret: string): Promise<SealedSecret>;
  open(subscriptionId: string, sealed: SealedSecret): Promise<string>;
}

/**
 * A stored secret that can never be decrypted (changed, another subscription's, another key's): retrying will not help.
 */
export class SigningSecretUnreadable extends Error {
  override readonly name = "SigningSecretUnreadable";
}

/**
 * KMS errors that say this ciphertext will never decrypt (rather than "not now": throttled, key disabled, access
 * denied).
 */
const UNREADABLE = new Set(["InvalidCiphertextException", "IncorrectKeyException"]);

/** The encryption context of a subscription's secrets: non-secret, and logged by CloudTrail with each call. */
export const secretEncryptionContext = (subscriptionId: string) => ({
  purpose: "quire:webhook-signing-secret",
  subscriptionId,
});

export interface KmsSecretBoxOptions {
  kms: KMSClient;
  /** The key to encrypt under: key id, ARN, or alias (`alias/quire-<stage>-secrets`). */
  keyId: string;
  /**
   * How long a decrypted secret is kept in memory (default 5 minutes; 0 turns the cache off).
   * Each webhook attempt signs with its subscription's secrets: without the cache every attempt
   * is a KMS Decrypt call (latency, and the account's shared KMS request quota); with it, a busy
   * subscription costs one Decrypt per process per window. A rotation makes new ciphertexts, so
   * it never waits for the cache.
   */
  cacheMs?: number;
  /** Most secrets cached at once (default 1000); the least recently used go first. */
  maxCached?: number;
  now?: () => number;
}

/** The secret box over AWS KMS (devcloud's KMS locally): Encrypt to seal, Decrypt to open. */
export function kmsSecretBox(options: KmsSecretBoxOptions): SecretBox {
  const { kms, keyId } = options;
  const cacheMs = options.cacheMs ?? 5 * 60_000;
  const maxCached = options.maxCached ?? 1000;
  const now = options.now ?? Date.now;
  // Keyed by subscription and ciphertext: a ciphertext copied to another subscription never hits it.
  const cache = new Map<string, { secret: string; until: number }>();

  return {
    async seal(subscriptionId, secret) {
      const { CiphertextBlob, KeyId } = await kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from(secret, "utf8"),
          EncryptionContext: secretEncryptionContext(subscriptionId),
        }),
      );
      return { ciphertext: Buffer.from(CiphertextBlob!).toString("base64"), keyId: KeyId! };
    },
    async open(subscriptionId, sealed) {
      const cacheKey = `${subscriptionId}\n${sealed.ciphertext}`;
      const cached = cache.get(cacheKey);
      if (cached && cached.until > now()) {
        cache.delete(cacheKey);
        cache.set(cacheKey, cached);
        return cached.secret;
      }
      cache.delete(cacheKey);
      let Plaintext: Uint8Array | undefined;
      try {
        ({ Plaintext } = await kms.send(
          new DecryptCommand({
            CiphertextBlob: Buffer.from(sealed.ciphertext, "base64"),
            // Named, so a ciphertext made under some other key is refused rather than decrypted.
            KeyId: sealed.keyId,
            EncryptionContext: secretEncryptionContext(subscriptionId),
          }),
        ));
      } catch (error) {
        if (UNREADABLE.has((error as Error).name)) {
          throw new SigningSecretUnreadable(
            `A signing secret of subscription ${subscriptionId} cannot be decrypted (${(error as Error).name}): it was changed, or belongs to another subscription or key. Rotate the secret.`,
            { cause: error },
          );
        }
        throw error;
      }
      const secret = Buffer.from(Plaintext!).toString("utf8");
      if (cacheMs > 0) {
        cache.set(cacheKey, { secret, until: now() + cacheMs });
        while (cache.size > maxCached) cache.delete(cache.keys().next().value!);
      }
      return secret;
    },
  };
}
