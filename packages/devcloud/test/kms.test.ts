import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListKeysCommand,
  NotFoundException,
  paginateListKeys,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-kms";
import { createCipheriv } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { KMS_MAX_PLAINTEXT_BYTES } from "../src/limits.ts";
import { startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

/** KMS through @aws-sdk/client-kms, unchanged: what the SDK sends and reads is the real wire protocol. */
describe("devcloud KMS", () => {
  let devcloud: Devcloud;
  let kms: KMSClient;
  let keyId: string;
  let keyArn: string;
  const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes!).toString("utf8");
  const newKey = async (Description = "a spec's key") => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description }));
    return KeyMetadata!;
  };

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    kms = new KMSClient(devcloud.clientConfig);
    const key = await newKey("conformance");
    keyId = key.KeyId!;
    keyArn = key.Arn!;
  });
  afterAll(() => devcloud.stop());

  it("creates and describes a symmetric encryption key as AWS does", async () => {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(KeyMetadata).toMatchObject({
      KeyId: keyId,
      Arn: `arn:aws:kms:us-east-1:000000000000:key/${keyId}`,
      AWSAccountId: "000000000000",
      Description: "conformance",
      Enabled: true,
      KeyState: "Enabled",
      KeyUsage: "ENCRYPT_DECRYPT",
      KeySpec: "SYMMETRIC_DEFAULT",
      EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
      Origin: "AWS_KMS",
      KeyManager: "CUSTOMER",
    });
    expect(KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    const keys = [];
    for await (const page of paginateListKeys({ client: kms, pageSize: 1 }, {})) keys.push(...(page.Keys ?? []));
    expect(keys).toContainEqual({ KeyId: keyId, KeyArn: keyArn });
  });

  it("encrypts and decrypts: the ciphertext names its key, so Decrypt needs no KeyId", async () => {
    const { CiphertextBlob, KeyId } = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from("whsec_round-trip"),
        EncryptionContext: { subscriptionId: "sub_1", purpose: "test" },
      }),
    );
    expect(KeyId).toBe(keyArn);
    expect(Buffer.from(CiphertextBlob!).toString("latin1")).not.toContain("whsec_round-trip");
    const decrypted = await kms.send(
      new DecryptCommand({
        CiphertextBlob,
        // Order does not matter: the context is a map.
        EncryptionContext: { purpose: "test", subscriptionId: "sub_1" },
      }),
    );
    expect(text(decrypted.Plaintext)).toBe("whsec_round-trip");
    expect(decrypted.KeyId).toBe(keyArn);
    expect(decrypted.EncryptionAlgorithm).toBe("SYMMETRIC_DEFAULT");
    // Every encryption is fresh (random IV): the same plaintext never gives the same ciphertext.
    const again = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from("whsec_round-trip"),
        EncryptionContext: { subscriptionId: "sub_1", purpose: "test" },
      }),
    );
    expect(Buffer.from(again.CiphertextBlob!).equals(Buffer.from(CiphertextBlob!))).toBe(false);
  });

  it("refuses to decrypt under another encryption context, or none (InvalidCiphertextException)", async () => {
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("bound"), EncryptionContext: { subscriptionId: "a" } }),
    );
    const others: Record<string, string>[] = [{ subscriptionId: "b" }, {}, { subscriptionId: "a", extra: "x" }];
    for (const EncryptionContext of others) {
      await expect(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext }))).rejects.toBeInstanceOf(
        InvalidCiphertextException,
      );
    }
    // A context given on encrypt is required on decrypt, and one not given must not appear.
    const plain = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("no context") }));
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: plain.CiphertextBlob, EncryptionContext: { a: "b" } })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it("refuses a changed ciphertext, and one that is not a ciphertext at all", async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("intact") }));
    const changed = Buffer.from(CiphertextBlob!);
    changed[changed.length - 1]! ^= 1;
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: changed }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from("not a kms ciphertext, just bytes") })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it(`refuses a plaintext over ${KMS_MAX_PLAINTEXT_BYTES} bytes with ValidationException, and takes exactly that many`, async () => {
    const error = await kms
      .send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(KMS_MAX_PLAINTEXT_BYTES + 1, 1) }))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
    expect((error as Error).message).toMatch(/plaintext.*less than or equal to 4096/);
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(KMS_MAX_PLAINTEXT_BYTES, 1) }),
    );
    const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob }));
    expect(Plaintext).toHaveLength(KMS_MAX_PLAINTEXT_BYTES);
  });

  it("answers NotFoundException for a key, key ARN or alias that does not exist", async () => {
    for (const KeyId of [
      "00000000-0000-4000-8000-000000000000",
      "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000",
      "alias/nobody",
      "arn:aws:kms:us-east-1:000000000000:alias/nobody",
    ]) {
      await expect(kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") }))).rejects.toBeInstanceOf(
        NotFoundException,
      );
      await expect(kms.send(new DescribeKeyCommand({ KeyId }))).rejects.toBeInstanceOf(NotFoundException);
    }
  });

  it("takes an alias (name or ARN) wherever it takes a key id; aliases list, move and go", async () => {
    await kms.send(new CreateAliasCommand({ AliasName: "alias/spec-secrets", TargetKeyId: keyId }));
    await expect(
      kms.send(new CreateAliasCommand({ AliasName: "alias/spec-secrets", TargetKeyId: keyId })),
    ).rejects.toBeInstanceOf(AlreadyExistsException);
    for (const alias of ["alias/spec-secrets", "arn:aws:kms:us-east-1:000000000000:alias/spec-secrets"]) {
      const { CiphertextBlob, KeyId } = await kms.send(
        new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from("via alias") }),
      );
      expect(KeyId).toBe(keyArn);
      expect(text((await kms.send(new DecryptCommand({ CiphertextBlob, KeyId: alias }))).Plaintext)).toBe("via alias");
      expect((await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata!.KeyId).toBe(keyId);
    }
    const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(Aliases).toEqual([
      expect.objectContaining({
        AliasName: "alias/spec-secrets",
        AliasArn: "arn:aws:kms:us-east-1:000000000000:alias/spec-secrets",
        TargetKeyId: keyId,
      }),
    ]);

    // Moved to another key, the alias encrypts under that one; old ciphertexts still decrypt.
    const { CiphertextBlob: before } = await kms.send(
      new EncryptCommand({ KeyId: "alias/spec-secrets", Plaintext: Buffer.from("before the move") }),
    );
    const other = await newKey();
    await kms.send(new UpdateAliasCommand({ AliasName: "alias/spec-secrets", TargetKeyId: other.KeyId }));
    const moved = await kms.send(new EncryptCommand({ KeyId: "alias/spec-secrets", Plaintext: Buffer.from("after") }));
    expect(moved.KeyId).toBe(other.Arn);
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: before }))).Plaintext)).toBe("before the move");
    await kms.send(new DeleteAliasCommand({ AliasName: "alias/spec-secrets" }));
    await expect(
      kms.send(new EncryptCommand({ KeyId: "alias/spec-secrets", Plaintext: Buffer.from("x") })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it("a ciphertext of one key does not decrypt claiming another: IncorrectKeyException, or InvalidCiphertextException if forged", async () => {
    const other = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("mine") }));
    await expect(kms.send(new DecryptCommand({ CiphertextBlob, KeyId: other.KeyId }))).rejects.toBeInstanceOf(
      IncorrectKeyException,
    );
    // Rewriting the key id inside the blob to the other key's does not help: the blob is authenticated.
    const forged = Buffer.from(CiphertextBlob!);
    forged.write(other.KeyId!, 1, 36, "ascii");
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: forged }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: forged, KeyId: other.KeyId }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
  });

  it("a blob sealed with a guessed key (all zeros) is refused: material is per key and random", async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("real") }));
    const blob = Buffer.from(CiphertextBlob!);
    const header = blob.subarray(0, 41);
    const iv = Buffer.alloc(12);
    const cipher = createCipheriv("aes-256-gcm", Buffer.alloc(32), iv);
    cipher.setAAD(header);
    const encrypted = Buffer.concat([cipher.update("forged"), cipher.final()]);
    const forged = Buffer.concat([header, iv, cipher.getAuthTag(), encrypted]);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: forged }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
  });

  it("a disabled key neither encrypts nor decrypts (DisabledException) until enabled again", async () => {
    const key = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("x") }));
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata).toMatchObject({
      Enabled: false,
      KeyState: "Disabled",
    });
    await expect(
      kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("x") })),
    ).rejects.toBeInstanceOf(DisabledException);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toBeInstanceOf(DisabledException);
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob }))).Plaintext)).toBe("x");
  });

  it("a key pending deletion is KMSInvalidStateException", async () => {
    const key = await newKey();
    const { KeyState, DeletionDate } = await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }),
    );
    expect(KeyState).toBe("PendingDeletion");
    expect(DeletionDate!.getTime()).toBeGreaterThan(Date.now() + 6 * 86400_000);
    await expect(
      kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("x") })),
    ).rejects.toBeInstanceOf(KMSInvalidStateException);
  });

  it("GenerateDataKey: AES_256 or NumberOfBytes, a plaintext key and its ciphertext under the KMS key", async () => {
    const context = { purpose: "envelope" };
    const aes = await kms.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context }),
    );
    expect(aes.Plaintext).toHaveLength(32);
    expect(aes.KeyId).toBe(keyArn);
    const { Plaintext } = await kms.send(
      new DecryptCommand({ CiphertextBlob: aes.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(Plaintext!).equals(Buffer.from(aes.Plaintext!))).toBe(true);
    expect((await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64 }))).Plaintext).toHaveLength(
      64,
    );
    for (const input of [{}, { KeySpec: "AES_256" as const, NumberOfBytes: 32 }, { NumberOfBytes: 1025 }]) {
      await expect(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, ...input }))).rejects.toMatchObject({
        name: "ValidationException",
      });
    }
  });

  it("rotation keeps every older material: ciphertexts from before still decrypt, ReEncrypt moves them on", async () => {
    const key = await newKey();
    const { CiphertextBlob: old } = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("pre-rotation") }),
    );
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const { CiphertextBlob: fresh } = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("post-rotation") }),
    );
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: old }))).Plaintext)).toBe("pre-rotation");
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: fresh }))).Plaintext)).toBe("post-rotation");
    const moved = await kms.send(new ReEncryptCommand({ CiphertextBlob: old, DestinationKeyId: keyId }));
    expect(moved.SourceKeyId).toBe(key.Arn);
    expect(moved.KeyId).toBe(keyArn);
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob }))).Plaintext)).toBe(
      "pre-rotation",
    );
  });

  it("answers an operation it does not implement by name", async () => {
    const response = await fetch(devcloud.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "TrentService.Sign",
        authorization:
          "AWS4-HMAC-SHA256 Credential=devcloud/20261123/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x",
      },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: "UnknownOperationException" });
  });
});

describe("devcloud KMS with a data dir", () => {
  it("keeps keys and aliases across a restart, so old ciphertexts still decrypt; provisioning makes no second key", async () => {
    const dir = temporaryDirectory("devcloud-kms");
    try {
      let devcloud = await startTestDevcloud({ dataDir: dir.path });
      const provisioned = devcloud.resources.keyArns.secrets;
      let kms = new KMSClient(devcloud.clientConfig);
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: "persisted" }));
      await kms.send(new CreateAliasCommand({ AliasName: "alias/persisted", TargetKeyId: KeyMetadata!.KeyId }));
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({
          KeyId: "alias/persisted",
          Plaintext: Buffer.from("survives"),
          EncryptionContext: { a: "1" },
        }),
      );
      await devcloud.stop();

      devcloud = await startTestDevcloud({ dataDir: dir.path });
      kms = new KMSClient(devcloud.clientConfig);
      try {
        expect(devcloud.resources.keyArns.secrets).toBe(provisioned);
        expect((await kms.send(new ListKeysCommand({}))).Keys).toHaveLength(2);
        const { Plaintext } = await kms.send(
          new DecryptCommand({ CiphertextBlob, KeyId: "alias/persisted", EncryptionContext: { a: "1" } }),
        );
        expect(Buffer.from(Plaintext!).toString()).toBe("survives");
        expect((await kms.send(new DescribeKeyCommand({ KeyId: "alias/persisted" }))).KeyMetadata!.Description).toBe(
          "persisted",
        );
      } finally {
        await devcloud.stop();
      }
    } finally {
      dir.remove();
    }
  });
});

describe("devcloud provisions the topology's keys", () => {
  let devcloud: Devcloud;
  beforeAll(async () => {
    devcloud = await startTestDevcloud();
  });
  afterAll(() => devcloud.stop());

  it("one key per declared key, behind its alias alias/<prefix>-<logical>, rotating, named in the env", async () => {
    expect(devcloud.resources.keyIds).toEqual({ secrets: "alias/quire-secrets" });
    expect(devcloud.env.QUIRE_KEY_SECRETS_ID).toBe("alias/quire-secrets");
    const kms = new KMSClient(devcloud.clientConfig);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: "alias/quire-secrets" }));
    expect(KeyMetadata).toMatchObject({
      Arn: devcloud.resources.keyArns.secrets,
      Description: "Encrypts webhook signing secrets at rest.",
      KeyState: "Enabled",
    });
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: KeyMetadata!.KeyId }))).KeyRotationEnabled).toBe(
      true,
    );
    const { Keys } = await kms.send(new ListKeysCommand({}));
    expect(Keys).toHaveLength(1);
  });
});
