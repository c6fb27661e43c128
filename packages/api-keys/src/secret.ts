import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * A key as its holder sees it: `quire_<keyId>_<secret>`. The id is public (it names the key in
 * listings and logs, and finds its record with one GetItem); the 32 random bytes after it are
 * the secret. Only the SHA-256 of the whole key is stored: with 256 bits of randomness a fast
 * hash is enough (nothing to brute-force), and the stored hash cannot be presented as a key.
 */
const KEY_PATTERN = /^quire_(k[0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export const newKeyId = () => `k${randomBytes(8).toString("hex")}`;

export function newKey(keyId: string = newKeyId()): { keyId: string; key: string } {
  return { keyId, key: `quire_${keyId}_${randomBytes(32).toString("base64url")}` };
}

/** The key id a presented key claims, or undefined when it is not shaped like a Quire key. */
export function keyIdOf(presented: string): string | undefined {
  return KEY_PATTERN.exec(presented)?.[1];
}

export const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

/** Constant-time comparison of two hex hashes (or any two strings). */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What listings show of a key: its id with the secret elided. */
export const keyPreview = (keyId: string) => `quire_${keyId}_…`;
