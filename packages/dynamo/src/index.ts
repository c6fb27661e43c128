import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";

/**
 * One table as a store sees it: the document client, the table's name, and the clock (injected,
 * so leases and TTLs can be tested across time).
 */
export interface StoreTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly now: () => Date;
}

/** The primary key of one item in Quire's single-table designs. */
export type ItemKey = { pk: string; sk: string };

/**
 * The document client every store uses, marshalled one way: optional fields are often spread in
 * as undefined (DynamoDB rejects undefined values), and class instances are never stored as maps.
 */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** DynamoDB's attribute value type tags: an item in its wire shape has one per attribute. */
const WIRE_TYPES = new Set(["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"]);

/**
 * The item a conditional write was refused against, when it asked for it
 * (`ReturnValuesOnConditionCheckFailure: "ALL_OLD"`) and DynamoDB sent it: as plain values. The
 * document client leaves an error's item in DynamoDB's wire shape ({ S: … }), so it is unmarshalled
 * here. Undefined when the failure carries none (the item did not exist, or a store that ignores the
 * parameter): read it then.
 */
export function conditionFailureItem(error: unknown): Record<string, unknown> | undefined {
  if (!isConditionFailure(error)) return undefined;
  const item = (error as { Item?: unknown }).Item;
  if (!item || typeof item !== "object") return undefined;
  // Already plain (a client that unmarshalls errors too) unless every value is one type-tagged value.
  const wire = Object.values(item).every((value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
    const tags = Object.keys(value);
    return tags.length === 1 && WIRE_TYPES.has(tags[0]!);
  });
  return wire ? unmarshall(item as Parameters<typeof unmarshall>[0]) : (item as Record<string, unknown>);
}

/** A losing conditional write is an answer, not an error: callers branch on it. */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: unknown } | null)?.name === "ConditionalCheckFailedException"
  );
}

/**
 * Run a conditional write: true when it was written, false when its condition failed (another
 * caller won, or the item is not in the state the write requires). Other errors are thrown.
 */
export async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** What a cancelled TransactWriteItems says about each of its actions (SDK: `CancellationReasons`). */
function cancellationCodes(error: unknown): string[] | undefined {
  if ((error as { name?: unknown } | null)?.name !== "TransactionCanceledException") return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((r) => r.Code ?? "None");
}

/**
 * A transaction cancelled only because some action's condition failed (its item was not in the
 * state the write required): an answer, like a losing conditional write. Conflicts and refused
 * actions are not.
 */
export function isTransactionConditionFailure(error: unknown): boolean {
  const codes = cancellationCodes(error);
  return (
    codes !== undefined &&
    codes.includes("ConditionalCheckFailed") &&
    codes.every((c) => c === "ConditionalCheckFailed" || c === "None")
  );
}

/**
 * Run a TransactWriteItems: true when it was written, false when a condition failed. A
 * cancellation for `TransactionConflict` (AWS: another transaction or write had one of its items
 * at that moment, as on a run's counters when its jobs finish together) is tried again after a
 * short random pause, `conflictRetries` times, then thrown like any other error — the caller's
 * message is retried later as a transient fault.
 */
export async function transactConditionally(
  write: () => Promise<unknown>,
  options: { conflictRetries?: number; pauseMs?: () => number } = {},
): Promise<boolean> {
  const retries = options.conflictRetries ?? 3;
  const pause = options.pauseMs ?? (() => 20 + Math.random() * 80);
  for (let attempt = 0; ; attempt++) {
    try {
      await write();
      return true;
    } catch (error) {
      if (isTransactionConditionFailure(error)) return false;
      const conflict = cancellationCodes(error)?.includes("TransactionConflict") ?? false;
      if (!conflict || attempt >= retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause()));
    }
  }
}

/**
 * Strongly consistent read of one item. Used after a lost conditional write to learn why it
 * lost (dynalite ignores ReturnValuesOnConditionCheckFailure, so the failure carries no item).
 */
export async function getItem(
  table: StoreTable,
  key: ItemKey,
  consistent = true,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: consistent }),
  );
  return Item;
}

/**
 * Every item of one partition (`pk`), following the query's pages to the end. For the small
 * partitions a store reads whole (a model's quota members, the governors' reports); a partition
 * that grows with the data is paged by its caller instead.
 */
export async function queryPartition(
  db: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...Items);
    start = LastEvaluatedKey;
  } while (start);
  return items;
}

/** Epoch seconds for a table's `expiresAt` TTL attribute. */
export const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);
