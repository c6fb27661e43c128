import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * devcloud's KMS ciphertext blob. AWS's is opaque too; what matters is what it guarantees, and
 * this one gives the same: it names the key (and the version of its material) that sealed it,
 * so Decrypt needs no KeyId, and it is authenticated (AES-256-GCM) over that header and the
 * encryption context, so a changed byte, a header naming another key, or another context all
 * fail as InvalidCiphertextException.
 *
 *   [0]       format version (1)
 *   [1..36]   key id (a UUID, ASCII)
 *   [37..40]  material version, uint32 big-endian
 *   [41..52]  GCM IV (12 bytes)
 *   [53..68]  GCM tag (16 bytes)
 *   [69..]    encrypted plaintext
 */
const FORMAT = 1;
const KEY_ID_BYTES = 36;
const HEADER_BYTES = 1 + KEY_ID_BYTES + 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OVERHEAD = HEADER_BYTES + IV_BYTES + TAG_BYTES;

export interface CiphertextHeader {
  keyId: string;
  materialVersion: number;
}

/**
 * The encryption context as the bytes GCM authenticates: pairs sorted by key, so the order a
 * caller lists them in does not matter (as in KMS), and an empty context is no bytes.
 */
function contextBytes(context: Record<string, string>): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.length ? Buffer.from(JSON.stringify(pairs), "utf8") : Buffer.alloc(0);
}

export function seal(
  material: Buffer,
  header: CiphertextHeader,
  plaintext: Buffer,
  context: Record<string, string>,
): Buffer {
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt8(FORMAT, 0);
  head.write(header.keyId, 1, KEY_ID_BYTES, "ascii");
  head.writeUInt32BE(header.materialVersion, 1 + KEY_ID_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", material, iv);
  cipher.setAAD(Buffer.concat([head, contextBytes(context)]));
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, cipher.getAuthTag(), encrypted]);
}

/** The key a blob names, or undefined when it is not one of devcloud's blobs at all. */
export function readHeader(blob: Buffer): CiphertextHeader | undefined {
  if (blob.length < OVERHEAD || blob.readUInt8(0) !== FORMAT) return undefined;
  const keyId = blob.toString("ascii", 1, 1 + KEY_ID_BYTES);
  if (!/^[0-9a-f-]{36}$/.test(keyId)) return undefined;
  return { keyId, materialVersion: blob.readUInt32BE(1 + KEY_ID_BYTES) };
}

/** The plaintext, or undefined when the blob does not authenticate under this material and context. */
export function open(material: Buffer, blob: Buffer, context: Record<string, string>): Buffer | undefined {
  const head = blob.subarray(0, HEADER_BYTES);
  const iv = blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const tag = blob.subarray(HEADER_BYTES + IV_BYTES, OVERHEAD);
  try {
    const decipher = createDecipheriv("aes-256-gcm", material, iv);
    decipher.setAAD(Buffer.concat([head, contextBytes(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(blob.subarray(OVERHEAD)), decipher.final()]);
  } catch {
    return undefined;
  }
}
