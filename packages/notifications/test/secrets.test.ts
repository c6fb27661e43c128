import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DecryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { newSubscriptionId } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createNotificationStore,
  kmsSecretBox,
  secretEncryptionContext,
  SigningSecretUnreadable,
  type NewSubscription,
  type NotificationStore,
  type SealedSecret,
  type WebhookSubscription,
} from "../src/index.ts";
import { subscriptionKey } from "../src/records/keys.ts";

/**
 * Webhook signing secrets at rest: sealed with KMS (devcloud's, through the real SDK client)
 * before DynamoDB sees them, bound to their subscription, rotated by a conditional write.
 */
let devcloud: Devcloud;
let dynamodb: DynamoDBClient;
let kms: KMSClient;
let store: NotificationStore;
let tableName: string;

beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  dynamodb = new DynamoDBClient(devcloud.clientConfig);
  kms = new KMSClient(devcloud.clientConfig);
  tableName = devcloud.resources.tableNames.notifications!;
  store = createNotificationStore({
    client: dynamodb,
    tableName,
    secrets: kmsSecretBox({ kms, keyId: devcloud.resources.keyIds.secrets! }),
  });
});
afterAll(() => devcloud?.stop());

/** A fresh secret in the shape the API makes them. */
const newSecret = () => `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
const webhook = (secret: string): NewSubscription => ({
  id: newSubscriptionId(),
  kind: "webhook",
  url: "https://hooks.example.com/quire",
  events: ["job.completed"],
  status: "active",
  secrets: [{ secret }],
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});
/** The item exactly as DynamoDB holds it, through the low-level client (no store code in between). */
async function rawItem(id: string): Promise<string> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { pk: { S: subscriptionKey(id).pk }, sk: { S: subscriptionKey(id).sk } },
      ConsistentRead: true,
    }),
  );
  expect(Item).toBeDefined();
  return JSON.stringify(Item);
}
/** Every form a secret could leak in: as is, its key material, and either base64 of the whole. */
function expectNowhereIn(text: string, secret: string) {
  for (const form of [
    secret,
    secret.slice("whsec_".length),
    Buffer.from(secret).toString("base64"),
    Buffer.from(secret).toString("base64url"),
  ]) {
    expect(text).not.toContain(form);
  }
}
const current = async (id: string) => (await store.getSubscription(id)) as WebhookSubscription;

describe("webhook signing secrets at rest", () => {
  it("are never written in plain text: the item holds KMS ciphertext and the key's ARN", async () => {
    const secret = newSecret();
    const created = await store.createSubscription(webhook(secret));
    const item = await rawItem(created.id);
    expectNowhereIn(item, secret);
    const [sealed] = (created as WebhookSubscription).secrets as SealedSecret[];
    expect(sealed!.keyId).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/);
    expect(item).toContain(sealed!.ciphertext);
    // The ciphertext is KMS's, under the deployment's key and this subscription's context.
    const { Plaintext, KeyId } = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(sealed!.ciphertext, "base64"),
        EncryptionContext: secretEncryptionContext(created.id),
      }),
    );
    expect(Buffer.from(Plaintext!).toString()).toBe(secret);
    expect(KeyId).toBe(sealed!.keyId);

    // Nor after a rotation: both the new and the rotated-out secret are sealed.
    const next = newSecret();
    expect((await store.rotateSecret(created.id, next, new Date(Date.now() + 60_000))).outcome).toBe("rotated");
    const rotated = await rawItem(created.id);
    expectNowhereIn(rotated, secret);
    expectNowhereIn(rotated, next);
    expect(await store.signingSecrets(await current(created.id))).toEqual([next, secret]);
  });

  it("a ciphertext copied onto another subscription does not decrypt there", async () => {
    const a = await store.createSubscription(webhook(newSecret()));
    const b = await store.createSubscription(webhook(newSecret()));
    // Overwrite b's secrets with a's, byte for byte, below the store.
    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: subscriptionKey(a.id).pk }, sk: { S: subscriptionKey(a.id).sk } },
      }),
    );
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: subscriptionKey(b.id).pk }, sk: { S: subscriptionKey(b.id).sk } },
        UpdateExpression: "SET secrets = :copied",
        ExpressionAttributeValues: { ":copied": Item!.secrets! },
      }),
    );
    await expect(store.signingSecrets(await current(b.id))).rejects.toThrow(SigningSecretUnreadable);
    await expect(store.signingSecrets(await current(b.id))).rejects.toThrow(/InvalidCiphertextException/);
  });

  it("of concurrent rotations exactly one wins; the others are told, and their secrets never sign", async () => {
    const first = newSecret();
    const { id } = await store.createSubscription(webhook(first));
    const candidates = Array.from({ length: 5 }, newSecret);
    const until = new Date(Date.now() + 60_000);
    const outcomes = await Promise.all(candidates.map((secret) => store.rotateSecret(id, secret, until)));
    expect(outcomes.filter((o) => o.outcome === "rotated")).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === "conflict")).toHaveLength(4);
    const winner = candidates[outcomes.findIndex((o) => o.outcome === "rotated")]!;
    const after = await current(id);
    expect(after.secretVersion).toBe(2);
    expect(await store.signingSecrets(after)).toEqual([winner, first]);

    // Rotating again from what is stored now succeeds: a loser that retries wins then.
    expect((await store.rotateSecret(id, newSecret(), until)).outcome).toBe("rotated");
    expect((await current(id)).secretVersion).toBe(3);
  });

  it("rotation answers not-found and not-a-webhook for what cannot rotate", async () => {
    expect(await store.rotateSecret(newSubscriptionId(), newSecret(), new Date())).toEqual({ outcome: "not-found" });
    const email = await store.createSubscription({
      id: newSubscriptionId(),
      kind: "email",
      address: "ada@example.com",
      mode: "per-job",
      events: ["job.completed"],
      status: "active",
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    expect(await store.rotateSecret(email.id, newSecret(), new Date())).toEqual({ outcome: "not-a-webhook" });
  });
});

describe("records from before secrets were encrypted", () => {
  /** A webhook subscription as the store wrote it before: plain-text secrets, no secret version. */
  async function legacyRecord(secrets: { secret: string; expiresAt?: string }[]): Promise<string> {
    const { secrets: _sealed, ...subscription } = webhook("unused") as WebhookSubscription;
    await DynamoDBDocumentClient.from(dynamodb).send(
      new PutCommand({ TableName: tableName, Item: { ...subscriptionKey(subscription.id), ...subscription, secrets } }),
    );
    return subscription.id;
  }

  it("are read as they are, and sealed at the next rotation (the old secret keeps its overlap)", async () => {
    const legacy = newSecret();
    const id = await legacyRecord([{ secret: legacy }]);
    expect(await store.signingSecrets(await current(id))).toEqual([legacy]);

    const next = newSecret();
    const until = new Date(Date.now() + 60_000);
    expect((await store.rotateSecret(id, next, until)).outcome).toBe("rotated");
    expectNowhereIn(await rawItem(id), legacy);
    const after = await current(id);
    expect(after.secretVersion).toBe(1);
    expect(after.secrets.map((s) => s.expiresAt)).toEqual([undefined, until.toISOString()]);
    expect(await store.signingSecrets(after)).toEqual([next, legacy]);
  });

  it("two concurrent first rotations of a record without a version: still exactly one wins", async () => {
    const id = await legacyRecord([{ secret: newSecret() }]);
    const outcomes = await Promise.all(
      [newSecret(), newSecret(), newSecret()].map((s) => store.rotateSecret(id, s, new Date(Date.now() + 1000))),
    );
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(["conflict", "conflict", "rotated"]);
  });

  it("encryptPlaintextSecrets seals them without rotating: the same secrets sign, none is in the item", async () => {
    const live = newSecret();
    const overlapping = newSecret();
    const until = new Date(Date.now() + 60_000).toISOString();
    const id = await legacyRecord([{ secret: live }, { secret: overlapping, expiresAt: until }]);
    const { sealed } = await store.encryptPlaintextSecrets();
    expect(sealed).toBeGreaterThanOrEqual(1);
    const item = await rawItem(id);
    expectNowhereIn(item, live);
    expectNowhereIn(item, overlapping);
    const after = await current(id);
    expect(after.secrets.map((s) => s.expiresAt)).toEqual([undefined, until]);
    expect(await store.signingSecrets(after)).toEqual([live, overlapping]);
    expect(await store.encryptPlaintextSecrets()).toEqual({ sealed: 0, skipped: 0 });
  });
});

describe("the KMS secret box", () => {
  it("caches a decrypted secret briefly, per subscription and ciphertext", async () => {
    let clock = 0;
    const client = new KMSClient(devcloud.clientConfig);
    const box = kmsSecretBox({
      kms: client,
      keyId: devcloud.resources.keyIds.secrets!,
      cacheMs: 1000,
      now: () => clock,
    });
    const sealed = await box.seal("sub_cached", "whsec_cached");
    const send = vi.spyOn(client, "send");
    expect(await box.open("sub_cached", sealed)).toBe("whsec_cached");
    expect(await box.open("sub_cached", sealed)).toBe("whsec_cached");
    expect(send).toHaveBeenCalledTimes(1);
    clock += 1001;
    expect(await box.open("sub_cached", sealed)).toBe("whsec_cached");
    expect(send).toHaveBeenCalledTimes(2);
    // The same ciphertext for another subscription goes to KMS, which refuses it.
    await expect(box.open("sub_other", sealed)).rejects.toThrow(SigningSecretUnreadable);
  });
});
