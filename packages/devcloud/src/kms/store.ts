import { randomBytes, randomUUID } from "node:crypto";
import { readStateFile, writeStateFile } from "../state-file.ts";

export type KeyState = "Enabled" | "Disabled" | "PendingDeletion";

/** A symmetric encryption key (SYMMETRIC_DEFAULT: AES-256-GCM), with every version of its material. */
export interface KmsKey {
  KeyId: string;
  Arn: string;
  /** Epoch seconds, as the AWS JSON protocol sends timestamps. */
  CreationDate: number;
  Description: string;
  KeyState: KeyState;
  DeletionDate?: number;
  rotationEnabled: boolean;
  rotationPeriodInDays: number;
  /**
   * The key's material, oldest first, base64: 32 random bytes each. Encrypt uses the newest;
   * a ciphertext names the version that sealed it, so rotation never strands old ciphertexts.
   */
  material: string[];
  tags: { TagKey: string; TagValue: string }[];
}

export interface KmsAlias {
  AliasName: string;
  TargetKeyId: string;
  CreationDate: number;
  LastUpdatedDate: number;
}

interface Snapshot {
  keys: KmsKey[];
  aliases: KmsAlias[];
}

const epochSeconds = () => Math.floor(Date.now() / 1000);

/**
 * KMS's keys and aliases. With a file, every change is written through atomically (as the
 * EventBridge store does), so keys, and with them every ciphertext made under them, survive a
 * restart. The file holds the key material itself: it is devcloud's stand-in for KMS's HSMs,
 * so keep the data dir as private as the data it protects.
 */
export class KmsStore {
  readonly keys = new Map<string, KmsKey>();
  readonly aliases = new Map<string, KmsAlias>();
  private readonly file: string | undefined;
  readonly account: string;
  readonly region: string;

  constructor(options: { file: string | undefined; account: string; region: string }) {
    this.file = options.file;
    this.account = options.account;
    this.region = options.region;
    if (this.file) this.load(this.file);
  }

  keyArn(keyId: string) {
    return `arn:aws:kms:${this.region}:${this.account}:key/${keyId}`;
  }

  aliasArn(aliasName: string) {
    return `arn:aws:kms:${this.region}:${this.account}:${aliasName}`;
  }

  createKey(options: { description: string; tags: KmsKey["tags"] }): KmsKey {
    const KeyId = randomUUID();
    const key: KmsKey = {
      KeyId,
      Arn: this.keyArn(KeyId),
      CreationDate: epochSeconds(),
      Description: options.description,
      KeyState: "Enabled",
      rotationEnabled: false,
      rotationPeriodInDays: 365,
      material: [randomBytes(32).toString("base64")],
      tags: options.tags,
    };
    this.keys.set(KeyId, key);
    this.save();
    return key;
  }

  /** New material for a key: encryption uses it from now on, decryption keeps every older one. */
  rotate(key: KmsKey) {
    key.material.push(randomBytes(32).toString("base64"));
    this.save();
  }

  putAlias(aliasName: string, targetKeyId: string) {
    const existing = this.aliases.get(aliasName);
    const now = epochSeconds();
    this.aliases.set(aliasName, {
      AliasName: aliasName,
      TargetKeyId: targetKeyId,
      CreationDate: existing?.CreationDate ?? now,
      LastUpdatedDate: now,
    });
    this.save();
  }

  deleteAlias(aliasName: string) {
    this.aliases.delete(aliasName);
    this.save();
  }

  /** A key whose scheduled deletion date has passed is gone, with its aliases (KMS deletes both). */
  expireDeletedKeys(now = epochSeconds()) {
    let changed = false;
    for (const key of this.keys.values()) {
      if (key.KeyState !== "PendingDeletion" || (key.DeletionDate ?? Infinity) > now) continue;
      this.keys.delete(key.KeyId);
      for (const alias of this.aliases.values())
        if (alias.TargetKeyId === key.KeyId) this.aliases.delete(alias.AliasName);
      changed = true;
    }
    if (changed) this.save();
  }

  /** Persist after a change made directly to a key (state, description, rotation settings). */
  save() {
    if (!this.file) return;
    const snapshot: Snapshot = { keys: [...this.keys.values()], aliases: [...this.aliases.values()] };
    writeStateFile(this.file, snapshot, { mode: 0o600 });
  }

  private load(file: string) {
    const snapshot = readStateFile<Snapshot>(file, "KMS");
    if (!snapshot) return;
    for (const key of snapshot.keys) this.keys.set(key.KeyId, key);
    for (const alias of snapshot.aliases) this.aliases.set(alias.AliasName, alias);
  }
}
