import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsServiceError } from "../edge/aws-errors.ts";
import { forward, forwardBuffered } from "../edge/proxy.ts";
import type { EdgeHandler } from "../edge/server.ts";
import {
  DYNAMODB_TRANSACTION_MAX_ACTIONS,
  DYNAMODB_TRANSACTION_MAX_BYTES,
  DYNAMODB_TRANSACTION_TOKEN_MS,
} from "../limits.ts";

type AttributeMap = Record<string, unknown>;

/** One action of a TransactWriteItems request, whichever of the four it is. */
interface Action {
  readonly kind: "Put" | "Update" | "Delete" | "ConditionCheck";
  readonly TableName: string;
  readonly Key?: AttributeMap;
  readonly Item?: AttributeMap;
  readonly UpdateExpression?: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: AttributeMap;
  readonly ReturnValuesOnConditionCheckFailure?: string;
}

interface CancellationReason {
  Code: string;
  Message?: string;
  Item?: AttributeMap;
}

const KINDS = ["ConditionCheck", "Put", "Delete", "Update"] as const;
/** The single-item writes that may ask for the item when their condition fails. */
const SINGLE_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem"]);
const TARGET = "DynamoDB_20120810.";

/**
 * DynamoDB for devcloud: dynalite, plus `TransactWriteItems`, which dynalite lacks.
 *
 * A transaction runs alone: every DynamoDB request holds a shared lock while dynalite serves it,
 * and a transaction holds it exclusively, so nothing reads or writes between its steps. Under
 * the lock it reads each item it names (consistently), checks every action's condition against
 * what it read — by asking dynalite to evaluate it, a conditional PutItem of the item as it is
 * (or of its bare key, deleted again) — and, only if all hold, applies the actions one by one,
 * restoring what it read should one of them fail. So either all actions happen or none, and a
 * failed condition answers `TransactionCanceledException` with one reason per action, as AWS
 * does. AWS's limits hold: at most 100 actions, 4 MB in all, no item named twice. A
 * `ClientRequestToken` (the SDK fills one in and keeps it across its retries) makes a repeated
 * successful request succeed again without applying anything, for 10 minutes; the same token
 * with other actions is `IdempotentParameterMismatchException`.
 *
 * A single PutItem, UpdateItem or DeleteItem with `ReturnValuesOnConditionCheckFailure: ALL_OLD`
 * also runs alone here, so that its failure can carry the item it was refused against (dynalite
 * ignores the parameter).
 *
 * Not emulated: `TransactionConflictException` (nothing here runs concurrently with a
 * transaction), `TransactGetItems`, consumed capacity and item collection metrics.
 */
export function createDynamoDbRoute(port: number): EdgeHandler {
  const lock = createReadWriteLock();
  const keySchemas = new Map<string, string[]>();
  const tokens = new Map<string, { fingerprint: string; at: number }>();

  return async (req, body, res) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    if (target === `${TARGET}TransactWriteItems`) {
      const request = parseRequest(body);
      const answer = await lock.exclusive(() => transactWriteItems(req, request));
      writeAnswer(res, answer);
      return;
    }
    const operation = target.slice(TARGET.length);
    if (SINGLE_WRITES.has(operation) && body.includes("ReturnValuesOnConditionCheckFailure")) {
      const input = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
      const returnValues = input.ReturnValuesOnConditionCheckFailure;
      if (returnValues !== undefined && returnValues !== "ALL_OLD" && returnValues !== "NONE")
        throw new AwsServiceError(
          "ValidationException",
          `1 validation error detected: Value '${String(returnValues)}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]`,
        );
      if (returnValues === "ALL_OLD") {
        const answer = await lock.exclusive(() => writeReturningOldItem(req, body, operation, input));
        res.writeHead(answer.status, { ...answer.headers, "content-length": answer.body.length });
        res.end(answer.body);
        return;
      }
    }
    await lock.shared(() => forward(port, req, body, res));
  };

  /**
   * A single PutItem, UpdateItem or DeleteItem asking for the item when its condition fails
   * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), which dynalite ignores: the write is
   * dynalite's; when it answers ConditionalCheckFailedException, the item as it stands is read and
   * added to the error, as AWS does. It runs alone (the exclusive lock), so the item returned is
   * the one the condition was evaluated against.
   */
  async function writeReturningOldItem(
    req: IncomingMessage,
    body: Buffer,
    operation: string,
    input: Record<string, unknown>,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const answer = await forwardBuffered(port, req, body);
    const headers = { ...answer.headers };
    delete headers["content-length"];
    if (answer.status !== 400 || !answer.body.includes("ConditionalCheckFailedException"))
      return { status: answer.status, headers, body: answer.body };
    const call = (name: string, payload: unknown) => callDynalite(port, req, name, payload);
    const tableName = String(input.TableName);
    const key =
      operation === "PutItem"
        ? await keyOf(call, { kind: "Put", TableName: tableName, Item: input.Item as AttributeMap })
        : (input.Key as AttributeMap);
    const { Item } = (await call("GetItem", { TableName: tableName, Key: key, ConsistentRead: true })) as {
      Item?: AttributeMap;
    };
    if (!Item) return { status: answer.status, headers, body: answer.body };
    const error = JSON.parse(answer.body.toString("utf8")) as Record<string, unknown>;
    return { status: answer.status, headers, body: Buffer.from(JSON.stringify({ ...error, Item })) };
  }

  async function transactWriteItems(req: IncomingMessage, request: ParsedRequest): Promise<Answer> {
    const now = Date.now();
    // Tokens are kept in the order they were stored (a Map's): the expired ones are at the front.
    for (const [token, seen] of tokens) {
      if (now - seen.at <= DYNAMODB_TRANSACTION_TOKEN_MS) break;
      tokens.delete(token);
    }
    if (request.token !== undefined) {
      const seen = tokens.get(request.token);
      if (seen && seen.fingerprint !== request.fingerprint)
        throw new AwsServiceError(
          "IdempotentParameterMismatchException",
          "Request parameters do not match the original request made with this ClientRequestToken.",
        );
      if (seen) return { status: 200, body: {} };
    }
    const call = (operation: string, payload: unknown) => callDynalite(port, req, operation, payload);

    const keys: AttributeMap[] = [];
    const seenItems = new Set<string>();
    for (const action of request.actions) {
      const key = action.Key ?? (await keyOf(call, action));
      const identity = `${action.TableName}\u0000${canonical(key)}`;
      if (seenItems.has(identity))
        throw new AwsServiceError(
          "ValidationException",
          "Transaction request cannot include multiple operations on one item",
        );
      seenItems.add(identity);
      keys.push(key);
    }
    const before: (AttributeMap | undefined)[] = [];
    for (const [i, action] of request.actions.entries()) {
      const { Item } = (await call("GetItem", { TableName: action.TableName, Key: keys[i], ConsistentRead: true })) as {
        Item?: AttributeMap;
      };
      before.push(Item);
    }

    const reasons: CancellationReason[] = [];
    for (const [i, action] of request.actions.entries()) {
      const holds = await conditionHolds(call, action, keys[i]!, before[i]);
      reasons.push(
        holds
          ? { Code: "None" }
          : {
              Code: "ConditionalCheckFailed",
              Message: "The conditional request failed",
              ...(action.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && before[i] ? { Item: before[i] } : {}),
            },
      );
    }
    if (reasons.some((r) => r.Code !== "None")) return cancelled(reasons);

    const applied: number[] = [];
    for (const [i, action] of request.actions.entries()) {
      if (action.kind === "ConditionCheck") continue;
      try {
        await call(action.kind === "Put" ? "PutItem" : action.kind === "Update" ? "UpdateItem" : "DeleteItem", {
          TableName: action.TableName,
          ...(action.kind === "Put" ? { Item: action.Item } : { Key: keys[i] }),
          ...(action.UpdateExpression ? { UpdateExpression: action.UpdateExpression } : {}),
          ...(action.ConditionExpression ? { ConditionExpression: action.ConditionExpression } : {}),
          ...(action.ExpressionAttributeNames ? { ExpressionAttributeNames: action.ExpressionAttributeNames } : {}),
          ...(action.ExpressionAttributeValues ? { ExpressionAttributeValues: action.ExpressionAttributeValues } : {}),
        });
        applied.push(i);
      } catch (error) {
        // Undo, newest first: every item this transaction wrote goes back to what it read.
        for (const j of applied.reverse()) {
          const table = request.actions[j]!.TableName;
          const old = before[j];
          await (old
            ? call("PutItem", { TableName: table, Item: old })
            : call("DeleteItem", { TableName: table, Key: keys[j] }));
        }
        if (!(error instanceof AwsServiceError) || error.type !== "ValidationException") throw error;
        return cancelled(
          request.actions.map((_, j) =>
            j === i ? { Code: "ValidationError", Message: error.message } : { Code: "None" },
          ),
        );
      }
    }
    if (request.token !== undefined) tokens.set(request.token, { fingerprint: request.fingerprint, at: Date.now() });
    return { status: 200, body: {} };
  }

  /** A Put names its item by the key attributes of its table's key schema (DescribeTable, once per table). */
  async function keyOf(call: Call, action: Action): Promise<AttributeMap> {
    let schema = keySchemas.get(action.TableName);
    if (!schema) {
      const { Table } = (await call("DescribeTable", { TableName: action.TableName })) as {
        Table: { KeySchema: { AttributeName: string }[] };
      };
      schema = Table.KeySchema.map((k) => k.AttributeName);
      keySchemas.set(action.TableName, schema);
    }
    const item = action.Item ?? {};
    const key: AttributeMap = {};
    for (const name of schema) {
      if (item[name] === undefined)
        throw new AwsServiceError(
          "ValidationException",
          `One or more parameter values were invalid: Missing the key ${name} in the item`,
        );
      key[name] = item[name];
    }
    return key;
  }
}

type Call = (operation: string, payload: unknown) => Promise<unknown>;

/**
 * Whether `action`'s condition holds for the item as read (`current`, or absent): dynalite
 * evaluates it, on a conditional PutItem that writes the item back unchanged — or writes the
 * bare key, removed again at once — so the expression language is dynalite's own, not a copy.
 * Only the names and values the condition uses are passed (an Update's others belong to its
 * UpdateExpression, and DynamoDB refuses unused ones).
 */
async function conditionHolds(
  call: Call,
  action: Action,
  key: AttributeMap,
  current: AttributeMap | undefined,
): Promise<boolean> {
  const condition = action.ConditionExpression;
  if (!condition) return true;
  const names = usedIn(condition, action.ExpressionAttributeNames, /#[A-Za-z0-9_]+/g);
  const values = usedIn(condition, action.ExpressionAttributeValues, /:[A-Za-z0-9_]+/g);
  try {
    await call("PutItem", {
      TableName: action.TableName,
      Item: current ?? key,
      ConditionExpression: condition,
      ...(names ? { ExpressionAttributeNames: names } : {}),
      ...(values ? { ExpressionAttributeValues: values } : {}),
    });
  } catch (error) {
    if (error instanceof AwsServiceError && error.type === "ConditionalCheckFailedException") return false;
    throw error;
  }
  if (!current) await call("DeleteItem", { TableName: action.TableName, Key: key });
  return true;
}

function usedIn<T>(expression: string, all: Record<string, T> | undefined, token: RegExp) {
  if (!all) return undefined;
  const used = new Set(expression.match(token) ?? []);
  const picked = Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
  return Object.keys(picked).length ? picked : undefined;
}

interface ParsedRequest {
  actions: Action[];
  token: string | undefined;
  /** The request less its token: what a repeated token must match. */
  fingerprint: string;
}

/** The request's shape and AWS's limits on it, before anything is read or locked. */
function parseRequest(body: Buffer): ParsedRequest {
  let input: { TransactItems?: unknown; ClientRequestToken?: unknown };
  try {
    input = JSON.parse(body.toString("utf8")) as typeof input;
  } catch {
    throw new AwsServiceError("SerializationException", "Start of structure or map found where not expected.");
  }
  const items = input.TransactItems;
  if (!Array.isArray(items))
    throw new AwsServiceError(
      "ValidationException",
      "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null",
    );
  if (items.length < 1 || items.length > DYNAMODB_TRANSACTION_MAX_ACTIONS)
    throw new AwsServiceError(
      "ValidationException",
      `1 validation error detected: Value '[${items.length} items]' at 'transactItems' failed to satisfy constraint: Member must have length ${items.length < 1 ? "greater than or equal to 1" : `less than or equal to ${DYNAMODB_TRANSACTION_MAX_ACTIONS}`}`,
    );
  const token = input.ClientRequestToken;
  if (token !== undefined && (typeof token !== "string" || token.length < 1 || token.length > 36))
    throw new AwsServiceError(
      "ValidationException",
      "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36",
    );
  if (body.length > DYNAMODB_TRANSACTION_MAX_BYTES)
    throw new AwsServiceError(
      "ValidationException",
      `Transaction request size of ${body.length} bytes exceeds the maximum of ${DYNAMODB_TRANSACTION_MAX_BYTES} (4 MB)`,
    );
  const actions = items.map((entry: Record<string, Omit<Action, "kind">>) => {
    const present = KINDS.filter((kind) => entry?.[kind] !== undefined);
    if (present.length !== 1)
      throw new AwsServiceError(
        "ValidationException",
        "TransactItems can only contain one of Check, Put, Update or Delete",
      );
    const kind = present[0]!;
    const action: Action = { kind, ...entry[kind]! };
    const missing =
      typeof action.TableName !== "string"
        ? "tableName"
        : kind === "Put"
          ? action.Item === undefined && "item"
          : action.Key === undefined
            ? "key"
            : kind === "Update"
              ? action.UpdateExpression === undefined && "updateExpression"
              : kind === "ConditionCheck" && action.ConditionExpression === undefined && "conditionExpression";
    if (missing)
      throw new AwsServiceError(
        "ValidationException",
        `1 validation error detected: Value null at 'transactItems.${kind.toLowerCase()}.${missing}' failed to satisfy constraint: Member must not be null`,
      );
    return action;
  });
  return {
    actions,
    token: token as string | undefined,
    fingerprint: createHash("sha256").update(canonical(items)).digest("hex"),
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  type?: string;
}

const cancelled = (reasons: CancellationReason[]): Answer => ({
  status: 400,
  type: "TransactionCanceledException",
  body: {
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(", ")}]`,
    CancellationReasons: reasons,
  },
});

function writeAnswer(res: ServerResponse, answer: Answer): void {
  const body = JSON.stringify(
    answer.type ? { __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`, ...answer.body } : answer.body,
  );
  res.writeHead(answer.status, {
    "content-type": "application/x-amz-json-1.0",
    "x-amzn-requestid": crypto.randomUUID(),
    ...(answer.type ? { "x-amzn-errortype": answer.type } : {}),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** One DynamoDB operation on dynalite, signed as the transaction's own request was; its error as an AwsServiceError. */
async function callDynalite(port: number, req: IncomingMessage, operation: string, payload: unknown) {
  const answer = await forwardBuffered(port, req, Buffer.from(JSON.stringify(payload)), {
    "x-amz-target": `${TARGET}${operation}`,
  });
  const parsed = (answer.body.length ? JSON.parse(answer.body.toString("utf8")) : {}) as Record<string, unknown>;
  if (answer.status >= 300) {
    const type = String(parsed.__type ?? "InternalFailure")
      .split("#")
      .pop()!;
    throw new AwsServiceError(type, String(parsed.message ?? parsed.Message ?? ""), answer.status);
  }
  return parsed;
}

/** Canonical JSON (sorted keys): a key's identity, and a request's fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/**
 * Many readers or one writer, first come first served (a waiting writer holds back the readers
 * behind it, so a transaction is never starved by a stream of ordinary requests).
 */
function createReadWriteLock() {
  let readers = 0;
  let writing = false;
  const waiting: { exclusive: boolean; start: () => void }[] = [];
  const pump = () => {
    while (waiting.length) {
      const next = waiting[0]!;
      if (next.exclusive) {
        if (readers > 0 || writing) return;
        waiting.shift();
        writing = true;
        next.start();
        return;
      }
      if (writing) return;
      waiting.shift();
      readers++;
      next.start();
    }
  };
  const run = async <T>(exclusive: boolean, work: () => Promise<T>): Promise<T> => {
    await new Promise<void>((start) => {
      waiting.push({ exclusive, start });
      pump();
    });
    try {
      return await work();
    } finally {
      if (exclusive) writing = false;
      else readers--;
      pump();
    }
  };
  return {
    shared: <T>(work: () => Promise<T>) => run(false, work),
    exclusive: <T>(work: () => Promise<T>) => run(true, work),
  };
}
