import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BOOTSTRAP_KEY_ID,
  createApiKeyStore,
  createKeyAuthenticator,
  KeyNotActiveError,
  KeyNotFoundError,
  SCOPES,
  type ApiKeyStore,
} from "../src/index.ts";

let devcloud: Devcloud;
let client: DynamoDBClient;
let tableName: string;
let store: ApiKeyStore;
let clock = new Date("2026-12-02T10:00:00.000Z");
const now = () => clock;
const BOOTSTRAP = "bootstrap-key-0123456789";

beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  client = new DynamoDBClient(devcloud.clientConfig);
  tableName = devcloud.resources.tableNames.apiKeys!;
  store = createApiKeyStore({ client, tableName, now });
});
afterAll(() => devcloud?.stop());

const authenticator = (cacheMs = 0) => createKeyAuthenticator({ store, bootstrapKey: BOOTSTRAP, cacheMs, now });

describe("the key store", () => {
  it("shows the key once and stores only its SHA-256: no item holds the key or its secret part", async () => {
    const { key, record } = await store.create({ name: "dms", scopes: ["documents:submit"], createdBy: "bootstrap" });
    expect(key).toMatch(new RegExp(`^quire_${record.keyId}_[A-Za-z0-9_-]{43}$`));
    const { Items } = await DynamoDBDocumentClient.from(client).send(new ScanCommand({ TableName: tableName }));
    const raw = JSON.stringify(Items);
    expect(raw).not.toContain(key);
    expect(raw).not.toContain(key.split("_").at(-1));
    expect((await store.get(record.keyId))?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("lists every key with its name, scopes and times", async () => {
    const { record } = await store.create({ name: "reader", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const listed = (await store.list()).find((r) => r.keyId === record.keyId);
    expect(listed).toMatchObject({ name: "reader", scopes: ["jobs:read"], createdAt: clock.toISOString() });
  });

  it("rotating issues a successor with the same name and scopes and gives the old key an overlap", async () => {
    const { record } = await store.create({ name: "rotating", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const successor = await store.rotate(record.keyId, { overlapSeconds: 3600, rotatedBy: "bootstrap" });
    expect(successor.record).toMatchObject({ name: "rotating", scopes: ["jobs:read"], rotatedFrom: record.keyId });
    expect(await store.get(record.keyId)).toMatchObject({
      rotatedTo: successor.record.keyId,
      validUntil: new Date(clock.getTime() + 3600_000).toISOString(),
    });
  });

  it("two concurrent rotations of one key: exactly one issues a successor, the other is KEY_NOT_ACTIVE", async () => {
    const { record } = await store.create({ name: "raced", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => store.rotate(record.keyId, { overlapSeconds: 60, rotatedBy: "bootstrap" })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const lost of results.filter((r) => r.status === "rejected"))
      expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(KeyNotActiveError);
    const successors = (await store.list()).filter((r) => r.rotatedFrom === record.keyId);
    expect(successors).toHaveLength(1);
  });

  it("a revoked key cannot be rotated; an unknown key is KEY_NOT_FOUND", async () => {
    const { record } = await store.create({ name: "gone", scopes: ["jobs:read"], createdBy: "bootstrap" });
    await store.revoke(record.keyId);
    await expect(store.rotate(record.keyId, { overlapSeconds: 0, rotatedBy: "bootstrap" })).rejects.toBeInstanceOf(
      KeyNotActiveError,
    );
    await expect(store.revoke("k0000000000000000")).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  it("revoking twice is one revocation (the first time stands)", async () => {
    const { record } = await store.create({ name: "twice", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const first = await store.revoke(record.keyId);
    clock = new Date(clock.getTime() + 1000);
    expect((await store.revoke(record.keyId)).revokedAt).toBe(first.revokedAt);
  });
});

describe("authenticating a presented key", () => {
  it("the bootstrap key holds every scope", async () => {
    const principal = await authenticator().authenticate(BOOTSTRAP);
    expect(principal?.keyId).toBe(BOOTSTRAP_KEY_ID);
    expect([...(principal?.scopes ?? [])]).toEqual([...SCOPES]);
  });

  it("a stored key authenticates as itself with exactly its scopes", async () => {
    const { key, record } = await store.create({ name: "dms", scopes: ["documents:submit"], createdBy: "bootstrap" });
    const principal = await authenticator().authenticate(key);
    expect(principal).toMatchObject({ keyId: record.keyId, name: "dms" });
    expect([...(principal?.scopes ?? [])]).toEqual(["documents:submit"]);
  });

  it("a key with a changed secret, a malformed key and an unknown id are refused", async () => {
    const { key } = await store.create({ name: "x", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const auth = authenticator();
    const last = key.at(-1) === "A" ? "B" : "A";
    expect(await auth.authenticate(`${key.slice(0, -1)}${last}`)).toBeUndefined();
    expect(await auth.authenticate("not a key")).toBeUndefined();
    expect(await auth.authenticate(`quire_k0000000000000000_${"A".repeat(43)}`)).toBeUndefined();
  });

  it("a revoked key is refused once the cache time has passed", async () => {
    const { key, record } = await store.create({ name: "revoked", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const auth = authenticator(10_000);
    expect(await auth.authenticate(key)).toBeDefined();
    await store.revoke(record.keyId);
    clock = new Date(clock.getTime() + 10_001);
    expect(await auth.authenticate(key)).toBeUndefined();
  });

  it("a rotated key works through its overlap and not after; its successor works at once", async () => {
    const { key, record } = await store.create({ name: "overlap", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const successor = await store.rotate(record.keyId, { overlapSeconds: 60, rotatedBy: "bootstrap" });
    const auth = authenticator();
    expect(await auth.authenticate(key)).toBeDefined();
    expect(await auth.authenticate(successor.key)).toBeDefined();
    clock = new Date(clock.getTime() + 60_001);
    expect(await auth.authenticate(key)).toBeUndefined();
    expect(await auth.authenticate(successor.key)).toBeDefined();
  });

  it("records when a key was last used, at most once a minute", async () => {
    const { key, record } = await store.create({ name: "used", scopes: ["jobs:read"], createdBy: "bootstrap" });
    const auth = createKeyAuthenticator({ store, cacheMs: 0, now, touchEveryMs: 60_000 });
    const first = clock.toISOString();
    await auth.authenticate(key);
    await expect.poll(async () => (await store.get(record.keyId))?.lastUsedAt).toBe(first);
    clock = new Date(clock.getTime() + 30_000);
    await auth.authenticate(key);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await store.get(record.keyId))?.lastUsedAt).toBe(first);
  });

  it("a flood of made-up keys with one id reads the store once per cache time, not once per request", async () => {
    let reads = 0;
    const counting: ApiKeyStore = {
      ...store,
      get: (id) => {
        reads++;
        return store.get(id);
      },
    };
    const auth = createKeyAuthenticator({ store: counting, cacheMs: 10_000, now });
    for (let i = 0; i < 20; i++)
      expect(await auth.authenticate(`quire_k00000000000000aa_${"B".repeat(43)}`)).toBeUndefined();
    expect(reads).toBe(1);
  });

  it("a key revoked here while a read of it is in flight is refused, not cached from the stale read", async () => {
    const { key, record } = await store.create({ name: "raced", scopes: ["jobs:read"], createdBy: "bootstrap" });
    let releaseRead!: () => void;
    const gate = new Promise<void>((resolve) => (releaseRead = resolve));
    let first = true;
    const slow: ApiKeyStore = {
      ...store,
      get: async (id) => {
        const stale = await store.get(id);
        if (first) {
          first = false;
          await gate;
        }
        return first ? store.get(id) : stale;
      },
    };
    const auth = createKeyAuthenticator({ store: slow, cacheMs: 60_000, now });
    const inFlight = auth.authenticate(key);
    await store.revoke(record.keyId);
    auth.forget(record.keyId);
    releaseRead();
    expect(await inFlight).toBeUndefined();
    expect(await auth.authenticate(key)).toBeUndefined();
  });
});
