import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsServiceError, parseJsonObject, writeJson, writeJsonError } from "../edge/aws-errors.ts";
import type { ServiceBackend } from "../edge/backend.ts";
import { KMS_MAX_CIPHERTEXT_BYTES, KMS_MAX_DATA_KEY_BYTES, KMS_MAX_PLAINTEXT_BYTES } from "../limits.ts";
import { open, readHeader, seal } from "./ciphertext.ts";
import { KmsStore, type KmsKey } from "./store.ts";

const CONTENT_TYPE = "application/x-amz-json-1.1";
const TARGET_PREFIX = "TrentService.";
const ALGORITHM = "SYMMETRIC_DEFAULT";
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;
const DAY_SECONDS = 24 * 60 * 60;

export interface KmsBackend extends ServiceBackend {
  readonly store: KmsStore;
}

type Input = Record<string, unknown>;
type Handler = (input: Input) => unknown;

/** `1 validation error detected: …` as AWS words a model constraint it checks before the operation runs. */
const invalid = (field: string, constraint: string) =>
  new AwsServiceError(
    "ValidationException",
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${constraint}`,
  );

/**
 * AWS KMS as a real JSON-1.1 API (X-Amz-Target: TrentService.<Operation>, signing name `kms`), so
 * `@aws-sdk/client-kms` works against devcloud unchanged: symmetric encryption keys
 * (SYMMETRIC_DEFAULT, AES-256-GCM over real per-key material), aliases usable wherever a KeyId
 * is, Encrypt / Decrypt / ReEncrypt / GenerateDataKey with the encryption context bound into the
 * ciphertext, key states (disabled, pending deletion) and on-demand rotation, with AWS's error
 * codes and limits. Key policies, grants and asymmetric or HMAC keys are out of scope: every
 * caller may use every key (IAM is AWS's to check).
 */
export function createKmsBackend(options: { file: string | undefined; account: string; region: string }): KmsBackend {
  const store = new KmsStore(options);

  const aliasNotFound = (aliasName: string) =>
    new AwsServiceError("NotFoundException", `Alias ${store.aliasArn(aliasName)} is not found.`);
  const keyNotFound = (keyId: string) =>
    new AwsServiceError("NotFoundException", `Key '${store.keyArn(keyId)}' does not exist`);

  /** A key by key id, key ARN, alias name or alias ARN (aliases only where `aliases` allows). */
  function findKey(reference: string, { aliases = true } = {}): KmsKey {
    let name = reference;
    const arn = /^arn:aws[a-z-]*:kms:([^:]*):([^:]*):((?:key|alias)\/.+)$/.exec(reference);
    if (arn) {
      if (arn[1] !== store.region || arn[2] !== store.account) {
        throw new AwsServiceError("NotFoundException", `Invalid arn ${reference}: not in this account and region.`);
      }
      name = arn[3]!.startsWith("key/") ? arn[3]!.slice("key/".length) : arn[3]!;
    } else if (reference.startsWith("arn:")) {
      throw new AwsServiceError("InvalidArnException", `${reference} is not a valid KMS ARN.`);
    }
    if (name.startsWith("alias/")) {
      if (!aliases) throw invalid("targetKeyId", "Member must be a key ID or key ARN, not an alias.");
      const alias = store.aliases.get(name);
      if (!alias) throw aliasNotFound(name);
      const key = store.keys.get(alias.TargetKeyId);
      if (!key) throw aliasNotFound(name);
      return key;
    }
    const key = store.keys.get(name);
    if (!key) throw keyNotFound(name);
    return key;
  }

  /** A key that can encrypt and decrypt now: enabled, not pending deletion. */
  function usableKey(key: KmsKey): KmsKey {
    if (key.KeyState === "Disabled") throw new AwsServiceError("DisabledException", `${key.Arn} is disabled.`);
    if (key.KeyState === "PendingDeletion")
      throw new AwsServiceError("KMSInvalidStateException", `${key.Arn} is pending deletion.`);
    return key;
  }

  const keyMetadata = (key: KmsKey) => ({
    AWSAccountId: store.account,
    KeyId: key.KeyId,
    Arn: key.Arn,
    CreationDate: key.CreationDate,
    Enabled: key.KeyState === "Enabled",
    Description: key.Description,
    KeyUsage: "ENCRYPT_DECRYPT",
    KeyState: key.KeyState,
    ...(key.DeletionDate !== undefined ? { DeletionDate: key.DeletionDate } : {}),
    Origin: "AWS_KMS",
    KeyManager: "CUSTOMER",
    CustomerMasterKeySpec: ALGORITHM,
    KeySpec: ALGORITHM,
    EncryptionAlgorithms: [ALGORITHM],
    MultiRegion: false,
  });

  function encryptWith(key: KmsKey, plaintext: Buffer, context: Record<string, string>): string {
    const materialVersion = key.material.length - 1;
    const material = Buffer.from(key.material[materialVersion]!, "base64");
    return seal(material, { keyId: key.KeyId, materialVersion }, plaintext, context).toString("base64");
  }

  /**
   * The plaintext of a blob and the key that sealed it. The blob names its key; a KeyId in the
   * request must name that same key (IncorrectKeyException otherwise, as in AWS), and a blob that
   * does not authenticate under its key's material and this context is InvalidCiphertextException.
   */
  function decrypt(input: Input, fields: { context: string; keyId: string; algorithm: string }) {
    const blob = requireBlob(input, "CiphertextBlob", KMS_MAX_CIPHERTEXT_BYTES);
    const context = encryptionContext(input, fields.context);
    algorithm(input, fields.algorithm);
    const header = readHeader(blob);
    const sealedBy = header ? store.keys.get(header.keyId) : undefined;
    const requested = optionalString(input, fields.keyId);
    if (requested !== undefined) {
      const named = findKey(requested);
      if (header && named.KeyId !== header.keyId) {
        throw new AwsServiceError(
          "IncorrectKeyException",
          "The key ID in the request does not identify a KMS key that can perform this operation.",
        );
      }
    }
    const material = header && sealedBy?.material[header.materialVersion];
    if (!sealedBy || !material) throw invalidCiphertext();
    usableKey(sealedBy);
    const plaintext = open(Buffer.from(material, "base64"), blob, context);
    if (!plaintext) throw invalidCiphertext();
    return { key: sealedBy, plaintext };
  }

  function dataKey(input: Input): Buffer {
    const spec = optionalString(input, "KeySpec");
    const count = input.NumberOfBytes;
    if (spec !== undefined && count !== undefined)
      throw new AwsServiceError("ValidationException", "Please specify either number of bytes or key spec.");
    if (spec === "AES_256") return randomBytes(32);
    if (spec === "AES_128") return randomBytes(16);
    if (spec !== undefined) throw invalid("keySpec", "Member must satisfy enum value set: [AES_256, AES_128]");
    if (count === undefined)
      throw new AwsServiceError("ValidationException", "Please specify either number of bytes or key spec.");
    return randomBytes(byteCount(count, "numberOfBytes"));
  }

  function dryRun(input: Input) {
    if (input.DryRun === true)
      throw new AwsServiceError(
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
      );
  }

  const operations: Record<string, Handler> = {
    CreateKey(input) {
      const usage = optionalString(input, "KeyUsage") ?? "ENCRYPT_DECRYPT";
      const spec = optionalString(input, "KeySpec") ?? optionalString(input, "CustomerMasterKeySpec") ?? ALGORITHM;
      const origin = optionalString(input, "Origin") ?? "AWS_KMS";
      if (usage !== "ENCRYPT_DECRYPT" || spec !== ALGORITHM || origin !== "AWS_KMS" || input.MultiRegion === true) {
        throw new AwsServiceError(
          "UnsupportedOperationException",
          "devcloud KMS makes single-Region symmetric encryption keys only (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT, Origin AWS_KMS).",
        );
      }
      const description = optionalString(input, "Description") ?? "";
      if (description.length > 8192) throw invalid("description", "Member must have length less than or equal to 8192");
      const tags = Array.isArray(input.Tags)
        ? (input.Tags as { TagKey?: unknown; TagValue?: unknown }[]).map((tag) => ({
            TagKey: String(tag.TagKey ?? ""),
            TagValue: String(tag.TagValue ?? ""),
          }))
        : [];
      return { KeyMetadata: keyMetadata(store.createKey({ description, tags })) };
    },
    DescribeKey(input) {
      return { KeyMetadata: keyMetadata(findKey(requireString(input, "KeyId", "keyId"))) };
    },
    ListKeys(input) {
      const keys = [...store.keys.values()].map((key) => ({ KeyId: key.KeyId, KeyArn: key.Arn }));
      return paginate(keys, input, "Keys");
    },
    UpdateKeyDescription(input) {
      const key = findKey(requireString(input, "KeyId", "keyId"), { aliases: false });
      key.Description = requireString(input, "Description", "description");
      store.save();
      return {};
    },
    EnableKey(input) {
      const key = findKey(requireString(input, "KeyId", "keyId"), { aliases: false });
      if (key.KeyState === "PendingDeletion")
        throw new AwsServiceError("KMSInvalidStateException", `${key.Arn} is pending deletion.`);
      key.KeyState = "Enabled";
      store.save();
      return {};
    },
    DisableKey(input) {
      const key = findKey(requireString(input, "KeyId", "keyId"), { aliases: false });
      if (key.KeyState === "PendingDeletion")
        throw new AwsServiceError("KMSInvalidStateException", `${key.Arn} is pending deletion.`);
      key.KeyState = "Disabled";
      store.save();
      return {};
    },
    ScheduleKeyDeletion(input) {
      const key = findKey(requireString(input, "KeyId", "keyId"), { aliases: false });
      const days = input.PendingWindowInDays ?? 30;
      if (typeof days !== "number" || !Number.isInteger(days) || days < 7 || days > 30)
        throw invalid("pendingWindowInDays", "Member must have value between 7 and 30");
      if (key.KeyState === "PendingDeletion")
        throw new AwsServiceError("KMSInvalidStateException", `${key.Arn} is pending deletion.`);
      key.KeyState = "PendingDeletion";
      key.DeletionDate = Math.floor(Date.now() / 1000) + days * DAY_SECONDS;
      store.save();
      return { KeyId: key.Arn, DeletionDate: key.DeletionDate, KeyState: key.KeyState, PendingWindowInDays: days };
    },
    CancelKeyDeletion(input) {
      const key = findKey(requireString(input, "KeyId", "keyId"), { aliases: false });
      if (key.KeyState !== "PendingDeletion")
        throw new AwsServiceError("KMSInvalidStateException", `${key.Arn} is not pending deletion.`);
      // As in KMS: a key brought back from pending deletion is disabled until enabled.
      key.KeyState = "Disabled";
      delete key.DeletionDate;
      store.save();
      return { KeyId: key.Arn };
    },
    EnableKeyRotation(input) {
      const key = usableKey(findKey(requireString(input, "KeyId", "keyId"), { aliases: false }));
      const days = input.RotationPeriodInDays ?? 365;
      if (typeof days !== "number" || !Number.isInteger(days) || days < 90 || days > 2560)
        throw invalid("rotationPeriodInDays", "Member must have value between 90 and 2560");
      key.rotationEnabled = true;
      key.rotationPeriodInDays = days;
      store.save();
      return {};
    },
    DisableKeyRotation(input) {
      const key = usableKey(findKey(requireString(input, "KeyId", "keyId"), { aliases: false }));
      key.rotationEnabled = false;
      store.save();
      return {};
    },
    GetKeyRotationStatus(input) {
      const key = findKey(requireString(input, "KeyId", "keyId"), { aliases: false });
      return {
        KeyId: key.Arn,
        KeyRotationEnabled: key.rotationEnabled,
        ...(key.rotationEnabled ? { RotationPeriodInDays: key.rotationPeriodInDays } : {}),
      };
    },
    /** Rotation on demand: new material at once (devcloud never rotates on a schedule: it does not run for a year). */
    RotateKeyOnDemand(input) {
      const key = usableKey(findKey(requireString(input, "KeyId", "keyId"), { aliases: false }));
      store.rotate(key);
      return { KeyId: key.Arn };
    },
    CreateAlias(input) {
      const aliasName = aliasNameOf(input);
      if (store.aliases.has(aliasName))
        throw new AwsServiceError(
          "AlreadyExistsException",
          `An alias with the name ${store.aliasArn(aliasName)} already exists`,
        );
      const key = findKey(requireString(input, "TargetKeyId", "targetKeyId"), { aliases: false });
      if (key.KeyState === "PendingDeletion")
        throw new AwsServiceError("KMSInvalidStateException", `${key.Arn} is pending deletion.`);
      store.putAlias(aliasName, key.KeyId);
      return {};
    },
    UpdateAlias(input) {
      const aliasName = aliasNameOf(input);
      if (!store.aliases.has(aliasName)) throw aliasNotFound(aliasName);
      const key = findKey(requireString(input, "TargetKeyId", "targetKeyId"), { aliases: false });
      if (key.KeyState === "PendingDeletion")
        throw new AwsServiceError("KMSInvalidStateException", `${key.Arn} is pending deletion.`);
      store.putAlias(aliasName, key.KeyId);
      return {};
    },
    DeleteAlias(input) {
      const aliasName = aliasNameOf(input);
      if (!store.aliases.has(aliasName)) throw aliasNotFound(aliasName);
      store.deleteAlias(aliasName);
      return {};
    },
    ListAliases(input) {
      const keyFilter = optionalString(input, "KeyId");
      const targetKeyId = keyFilter !== undefined ? findKey(keyFilter, { aliases: false }).KeyId : undefined;
      const aliases = [...store.aliases.values()]
        .filter((alias) => targetKeyId === undefined || alias.TargetKeyId === targetKeyId)
        .sort((a, b) => a.AliasName.localeCompare(b.AliasName))
        .map((alias) => ({ ...alias, AliasArn: store.aliasArn(alias.AliasName) }));
      return paginate(aliases, input, "Aliases");
    },
    Encrypt(input) {
      const key = usableKey(findKey(requireString(input, "KeyId", "keyId")));
      const plaintext = requireBlob(input, "Plaintext", KMS_MAX_PLAINTEXT_BYTES);
      const context = encryptionContext(input, "EncryptionContext");
      algorithm(input, "EncryptionAlgorithm");
      dryRun(input);
      return { CiphertextBlob: encryptWith(key, plaintext, context), KeyId: key.Arn, EncryptionAlgorithm: ALGORITHM };
    },
    Decrypt(input) {
      const { key, plaintext } = decrypt(input, {
        context: "EncryptionContext",
        keyId: "KeyId",
        algorithm: "EncryptionAlgorithm",
      });
      dryRun(input);
      return { KeyId: key.Arn, Plaintext: plaintext.toString("base64"), EncryptionAlgorithm: ALGORITHM };
    },
    ReEncrypt(input) {
      const { key: source, plaintext } = decrypt(input, {
        context: "SourceEncryptionContext",
        keyId: "SourceKeyId",
        algorithm: "SourceEncryptionAlgorithm",
      });
      const destination = usableKey(findKey(requireString(input, "DestinationKeyId", "destinationKeyId")));
      const context = encryptionContext(input, "DestinationEncryptionContext");
      algorithm(input, "DestinationEncryptionAlgorithm");
      dryRun(input);
      return {
        CiphertextBlob: encryptWith(destination, plaintext, context),
        SourceKeyId: source.Arn,
        KeyId: destination.Arn,
        SourceEncryptionAlgorithm: ALGORITHM,
        DestinationEncryptionAlgorithm: ALGORITHM,
      };
    },
    GenerateDataKey(input) {
      const key = usableKey(findKey(requireString(input, "KeyId", "keyId")));
      const context = encryptionContext(input, "EncryptionContext");
      const plaintext = dataKey(input);
      dryRun(input);
      return {
        CiphertextBlob: encryptWith(key, plaintext, context),
        Plaintext: plaintext.toString("base64"),
        KeyId: key.Arn,
      };
    },
    GenerateDataKeyWithoutPlaintext(input) {
      const key = usableKey(findKey(requireString(input, "KeyId", "keyId")));
      const context = encryptionContext(input, "EncryptionContext");
      const plaintext = dataKey(input);
      dryRun(input);
      return { CiphertextBlob: encryptWith(key, plaintext, context), KeyId: key.Arn };
    },
    GenerateRandom(input) {
      if (input.NumberOfBytes === undefined) throw invalid("numberOfBytes", "Member must not be null");
      return { Plaintext: randomBytes(byteCount(input.NumberOfBytes, "numberOfBytes")).toString("base64") };
    },
  };

  return {
    signingName: "kms",
    store,
    async handle(req: IncomingMessage, body: Buffer, res: ServerResponse) {
      const target = String(req.headers["x-amz-target"] ?? "");
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
      try {
        const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
        if (!handler)
          throw new AwsServiceError(
            "UnknownOperationException",
            `devcloud KMS does not implement ${operation || "(no X-Amz-Target)"}.`,
          );
        store.expireDeletedKeys();
        writeJson(res, 200, handler(parseJsonObject(body)), CONTENT_TYPE);
      } catch (error) {
        if (error instanceof AwsServiceError) writeJsonError(res, error, CONTENT_TYPE);
        else
          writeJsonError(res, new AwsServiceError("KMSInternalException", (error as Error).message, 500), CONTENT_TYPE);
      }
    },
  };
}

/** Deliberately one answer for a changed blob, another key's blob and another context, as in AWS. */
const invalidCiphertext = () =>
  new AwsServiceError(
    "InvalidCiphertextException",
    "The ciphertext is not valid: it was changed, or its encryption context does not match.",
  );

function aliasNameOf(input: Input): string {
  const aliasName = requireString(input, "AliasName", "aliasName");
  if (aliasName.startsWith("alias/aws/"))
    throw new AwsServiceError("NotAuthorizedException", "Alias names beginning with alias/aws/ are reserved for AWS.");
  if (!ALIAS_NAME.test(aliasName))
    throw new AwsServiceError(
      "InvalidAliasNameException",
      `Alias ${aliasName} must begin with alias/ and contain only alphanumerics, /, _ and -.`,
    );
  return aliasName;
}

/** Only SYMMETRIC_DEFAULT: the one algorithm of the one kind of key devcloud makes. */
function algorithm(input: Input, field: string) {
  const value = input[field];
  if (value !== undefined && value !== ALGORITHM)
    throw new AwsServiceError(
      "InvalidKeyUsageException",
      `The encryption algorithm ${String(value)} is not valid for a symmetric encryption key: use ${ALGORITHM}.`,
    );
}

function encryptionContext(input: Input, field: string): Record<string, string> {
  const value = input[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw new AwsServiceError("SerializationException", `${field} must be a map of strings to strings.`);
  }
  return value as Record<string, string>;
}

function requireString(input: Input, field: string, memberName: string): string {
  const value = input[field];
  if (typeof value !== "string" || value.length === 0) throw invalid(memberName, "Member must not be null");
  return value;
}

function optionalString(input: Input, field: string): string | undefined {
  const value = input[field];
  return typeof value === "string" ? value : undefined;
}

/** A blob member (base64 on the wire), 1 to `max` bytes. */
function requireBlob(input: Input, field: string, max: number): Buffer {
  const member = `${field[0]!.toLowerCase()}${field.slice(1)}`;
  const value = input[field];
  if (value === undefined || value === null) throw invalid(member, "Member must not be null");
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
    throw new AwsServiceError("SerializationException", `${field} must be base64.`);
  const bytes = Buffer.from(value, "base64");
  if (bytes.length < 1) throw invalid(member, "Member must have length greater than or equal to 1");
  if (bytes.length > max) throw invalid(member, `Member must have length less than or equal to ${max}`);
  return bytes;
}

function byteCount(value: unknown, member: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw invalid(member, "Member must have value greater than or equal to 1");
  if (value > KMS_MAX_DATA_KEY_BYTES)
    throw invalid(member, `Member must have value less than or equal to ${KMS_MAX_DATA_KEY_BYTES}`);
  return value;
}

/** KMS pages with Limit (1–1000, default 100) and Marker; the answer says Truncated and gives NextMarker. */
function paginate<T>(items: T[], input: Input, key: string) {
  const limit = input.Limit ?? 100;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid("limit", "Member must have value between 1 and 1000");
  const marker = input.Marker;
  const start = typeof marker === "string" ? Number.parseInt(marker, 10) : 0;
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    throw new AwsServiceError("InvalidMarkerException", "The marker is not valid.");
  const page = items.slice(start, start + limit);
  const truncated = start + limit < items.length;
  return { [key]: page, Truncated: truncated, ...(truncated ? { NextMarker: String(start + limit) } : {}) };
}
