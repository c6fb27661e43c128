import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  IdempotentParameterMismatchException,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type TransactWriteItem,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { startTestDevcloud } from "./support/devcloud.ts";

/** One devcloud for both parts of this file, through the real SDK client. */
let devcloud: Devcloud;
let dynamodb: DynamoDBClient;
let table: string;
beforeAll(async () => {
  devcloud = await startTestDevcloud();
  dynamodb = new DynamoDBClient(devcloud.clientConfig);
  table = devcloud.resources.tableNames.jobs!;
});
afterAll(() => devcloud.stop());

/**
 * TransactWriteItems, which devcloud adds to dynalite: all or nothing, a reason per action when
 * cancelled, AWS's limits, and the client token that makes the SDK's retries safe. Through the
 * real SDK client against the devcloud edge.
 */
describe("DynamoDB TransactWriteItems through the devcloud edge", () => {
  let n = 0;
  const key = (name: string) => ({ pk: { S: `txn#${name}` }, sk: { S: "item" } });
  const fresh = () => `t${n++}-${Date.now()}`;
  const read = async (name: string) =>
    (await dynamodb.send(new GetItemCommand({ TableName: table, Key: key(name), ConsistentRead: true }))).Item;
  const transact = (items: TransactWriteItem[], token?: string) =>
    dynamodb.send(
      new TransactWriteItemsCommand({ TransactItems: items, ...(token ? { ClientRequestToken: token } : {}) }),
    );
  const countOnce = (counter: string, member: string): TransactWriteItem[] => [
    {
      Update: {
        TableName: table,
        Key: key(member),
        UpdateExpression: "SET counted = :true",
        ConditionExpression: "attribute_not_exists(counted)",
        ExpressionAttributeValues: { ":true": { BOOL: true } },
      },
    },
    {
      Update: {
        TableName: table,
        Key: key(counter),
        UpdateExpression: "ADD finished :one",
        ConditionExpression: "attribute_exists(pk) AND finished < #total",
        ExpressionAttributeNames: { "#total": "total" },
        ExpressionAttributeValues: { ":one": { N: "1" } },
      },
    },
  ];
  const rejection = async (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  it("applies every action when every condition holds", async () => {
    const [counter, member] = [fresh(), fresh()];
    await dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { ...key(counter), finished: { N: "0" }, total: { N: "5" } } }),
    );
    await transact(countOnce(counter, member));
    expect((await read(counter))?.finished).toEqual({ N: "1" });
    expect((await read(member))?.counted).toEqual({ BOOL: true });
  });

  it("applies none when one condition fails, and says which: one reason per action", async () => {
    const [counter, member] = [fresh(), fresh()];
    // total 0: the counter's condition fails, so the member's update must not happen either.
    await dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { ...key(counter), finished: { N: "0" }, total: { N: "0" } } }),
    );
    const error = await rejection(transact(countOnce(counter, member)));
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      "None",
      "ConditionalCheckFailed",
    ]);
    expect((error as Error).message).toMatch(/\[None, ConditionalCheckFailed\]/);
    expect(await read(member)).toBeUndefined();
    expect((await read(counter))?.finished).toEqual({ N: "0" });
  });

  it("counts each member once when 40 transactions race, 20 members twice each", async () => {
    const counter = fresh();
    await dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { ...key(counter), finished: { N: "0" }, total: { N: "100" } } }),
    );
    const members = Array.from({ length: 20 }, () => fresh());
    const outcomes = await Promise.allSettled(
      [...members, ...members].map((member) => transact(countOnce(counter, member))),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(20);
    expect(outcomes.every((o) => o.status === "fulfilled" || o.reason instanceof TransactionCanceledException)).toBe(
      true,
    );
    expect((await read(counter))?.finished).toEqual({ N: "20" });
  });

  it("returns the item as it was with ReturnValuesOnConditionCheckFailure ALL_OLD", async () => {
    const name = fresh();
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { ...key(name), state: { S: "done" } } }));
    const error = await rejection(
      transact([
        {
          ConditionCheck: {
            TableName: table,
            Key: key(name),
            ConditionExpression: "#state = :open",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: { ":open": { S: "open" } },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        },
      ]),
    );
    expect((error as TransactionCanceledException).CancellationReasons?.[0]).toMatchObject({
      Code: "ConditionalCheckFailed",
      Item: { state: { S: "done" } },
    });
  });

  it("a ConditionCheck of a missing item that holds creates nothing", async () => {
    const [absent, other] = [fresh(), fresh()];
    await transact([
      { ConditionCheck: { TableName: table, Key: key(absent), ConditionExpression: "attribute_not_exists(pk)" } },
      { Put: { TableName: table, Item: { ...key(other), made: { BOOL: true } } } },
    ]);
    expect(await read(absent)).toBeUndefined();
    expect((await read(other))?.made).toEqual({ BOOL: true });
  });

  it("undoes the actions already applied when a later one is refused (an item over 400 KB): ValidationError", async () => {
    const [first, big] = [fresh(), fresh()];
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { ...key(first), version: { N: "1" } } }));
    const error = await rejection(
      transact([
        {
          Update: {
            TableName: table,
            Key: key(first),
            UpdateExpression: "SET version = :two",
            ExpressionAttributeValues: { ":two": { N: "2" } },
          },
        },
        {
          Update: {
            TableName: table,
            Key: key(big),
            UpdateExpression: "SET body = :body",
            ExpressionAttributeValues: { ":body": { S: "x".repeat(410_000) } },
          },
        },
      ]),
    );
    expect((error as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      "None",
      "ValidationError",
    ]);
    expect((await read(first))?.version).toEqual({ N: "1" });
    expect(await read(big)).toBeUndefined();
  });

  it("refuses two actions on one item, more than 100 actions, and an action that is not exactly one kind", async () => {
    const name = fresh();
    const put = { Put: { TableName: table, Item: key(name) } };
    await expect(transact([put, { Delete: { TableName: table, Key: key(name) } }])).rejects.toMatchObject({
      name: "ValidationException",
      message: "Transaction request cannot include multiple operations on one item",
    });
    const many = Array.from({ length: 101 }, () => ({ Put: { TableName: table, Item: key(fresh()) } }));
    await expect(transact(many)).rejects.toMatchObject({
      name: "ValidationException",
      message: expect.stringMatching(/less than or equal to 100/),
    });
    await expect(transact([{}])).rejects.toMatchObject({ name: "ValidationException" });
    expect(await read(name)).toBeUndefined();
  });

  it("a repeated ClientRequestToken succeeds without applying again; the same token with other actions is refused", async () => {
    const [counter, member] = [fresh(), fresh()];
    await dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { ...key(counter), finished: { N: "0" }, total: { N: "5" } } }),
    );
    const token = `token-${fresh()}`;
    await transact(countOnce(counter, member), token);
    // As the SDK's retry after a lost answer would send it: the member's condition would now fail.
    await transact(countOnce(counter, member), token);
    expect((await read(counter))?.finished).toEqual({ N: "1" });
    await expect(transact(countOnce(counter, fresh()), token)).rejects.toBeInstanceOf(
      IdempotentParameterMismatchException,
    );
  });
});

/**
 * A single write that asks for the item when its condition fails (ReturnValuesOnConditionCheckFailure),
 * which dynalite ignores: devcloud adds the item to the error, as AWS does.
 */
describe("DynamoDB single writes with ReturnValuesOnConditionCheckFailure through the devcloud edge", () => {
  let n = 0;
  const key = () => ({ pk: { S: `old#${n++}-${Date.now()}` }, sk: { S: "item" } });
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as ConditionalCheckFailedException,
    );

  it("a refused PutItem, UpdateItem and DeleteItem with ALL_OLD carry the item they were refused against", async () => {
    const item = { ...key(), state: { S: "done" } };
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: item }));
    const condition = {
      ConditionExpression: "attribute_not_exists(pk)",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
    };
    const refused = [
      await refusal(
        dynamodb.send(new PutItemCommand({ TableName: table, Item: { ...item, state: { S: "new" } }, ...condition })),
      ),
      await refusal(
        dynamodb.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: item.pk, sk: item.sk },
            UpdateExpression: "SET #state = :new",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: { ":new": { S: "new" } },
            ...condition,
          }),
        ),
      ),
      await refusal(
        dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk }, ...condition })),
      ),
    ];
    for (const error of refused) {
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error?.Item).toEqual(item);
    }
    // Nothing was written.
    expect(
      (await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }))).Item,
    ).toEqual(item);
  });

  it("without ALL_OLD (or with NONE) the refusal carries no item; a write whose condition holds answers as usual; another value is refused", async () => {
    const item = { ...key(), state: { S: "done" } };
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: item }));
    for (const returnValues of [undefined, "NONE"] as const) {
      const error = await refusal(
        dynamodb.send(
          new PutItemCommand({
            TableName: table,
            Item: item,
            ConditionExpression: "attribute_not_exists(pk)",
            ...(returnValues ? { ReturnValuesOnConditionCheckFailure: returnValues } : {}),
          }),
        ),
      );
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error?.Item).toBeUndefined();
    }
    const fresh = { ...key(), state: { S: "open" } };
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: fresh,
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    expect(
      (await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: fresh.pk, sk: fresh.sk } }))).Item,
    ).toEqual(fresh);
    await expect(
      dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: key(),
          ReturnValuesOnConditionCheckFailure: "ALL_NEW" as "ALL_OLD",
        }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });
});
