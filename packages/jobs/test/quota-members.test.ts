import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQuotaMemberStore, type QuotaMemberStore } from "../src/index.ts";
import { startTestCloud, type TestCloud } from "./support/store.ts";

let cloud: TestCloud;
let members: QuotaMemberStore;

beforeAll(async () => {
  cloud = await startTestCloud();
  members = createQuotaMemberStore({ client: cloud.client, tableName: cloud.tableName });
});
afterAll(() => cloud?.stop());

describe("the members of a model's quota, in the jobs table", () => {
  it("a heartbeat writes (and rewrites) one item per member; a model's members are read as one partition; leaving deletes", async () => {
    const model = `model-${Date.now()}`;
    await members.heartbeat(model, { memberId: "a", demand: 64, fraction: 0.5, heartbeatAt: 1_000 }, 9_000);
    await members.heartbeat(model, { memberId: "b", demand: 3, fraction: 0.5, heartbeatAt: 1_500 }, 9_000);
    await members.heartbeat(model, { memberId: "a", demand: 60, fraction: 0.95, heartbeatAt: 4_000 }, 9_000);
    await members.heartbeat(`${model}-other`, { memberId: "c", demand: 1, fraction: 1, heartbeatAt: 4_000 }, 9_000);
    const read = await members.members(model);
    expect(read.sort((x, y) => x.memberId.localeCompare(y.memberId))).toEqual([
      { memberId: "a", demand: 60, fraction: 0.95, heartbeatAt: 4_000 },
      { memberId: "b", demand: 3, fraction: 0.5, heartbeatAt: 1_500 },
    ]);
    const { Item } = await cloud.client.send(
      new GetItemCommand({
        TableName: cloud.tableName,
        Key: { pk: { S: `QUOTA#${model}` }, sk: { S: "MEMBER#a" } },
      }),
    );
    // TTL: the heartbeat's liveness, plus a minute (readers ignore a stale heartbeat long before).
    expect(Item?.expiresAt).toEqual({ N: String(Math.ceil(13_000 / 1000) + 60) });
    await members.leave(model, "a");
    expect((await members.members(model)).map((m) => m.memberId)).toEqual(["b"]);
  });
});
