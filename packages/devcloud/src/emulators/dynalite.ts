/// <reference path="../types.d.ts" />
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import dynalite from "dynalite";
import { DYNAMODB_MAX_ITEM_BYTES } from "../limits.ts";

export interface DynamoDbEmulator {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * DynamoDB comes from dynalite: in memory without a data dir, LevelDB inside it with one.
 * `createTableMs: 0` makes tables ACTIVE at once, as tests and provisioning expect.
 */
export async function startDynamoDb(options: { dataDir: string | undefined }): Promise<DynamoDbEmulator> {
  countItemSizeInUtf8();
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    maxItemSizeKb: DYNAMODB_MAX_ITEM_BYTES / 1024,
    ...(options.dataDir ? { path: join(options.dataDir, "dynamodb") } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    // Requests in progress finish first: dynalite closes its database once the server has
    // closed, and a request cut mid-way (closeAllConnections) would still reach the closed
    // database and throw "Database is closed" out of dynalite, uncaught, killing the host process
    // (a devcloud stopped mid-run). Idle keep-alive connections go at once; stragglers after 5 s.
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections?.();
        setTimeout(() => server.closeAllConnections?.(), 5000).unref();
      }),
  };
}

type AttributeValue = Record<string, unknown>;
type ItemSize = (
  item: Record<string, AttributeValue>,
  compress?: boolean,
  addMetaSize?: boolean,
  rangeKey?: string,
) => number;

let patched = false;

/**
 * dynalite 4.0.0 refuses items over 400 KB (PutItem, UpdateItem, BatchWriteItem) with AWS's
 * messages, but sizes attribute names and string values by `String.length` — UTF-16 code
 * units — where AWS counts UTF-8 bytes (DYNAMODB_MAX_ITEM_BYTES). An item of 300,000 "é" is
 * 600,000 bytes on AWS and refused there, yet 300,000 "bytes" to dynalite. Its size checks call
 * the exported `db.itemSize(item)`; that export is wrapped to add, for every name and string
 * (nested in maps, lists and string sets too), the bytes UTF-8 needs beyond one per code unit.
 * Calls with dynalite's compression flags (its internal capacity estimates) are left alone.
 */
function countItemSizeInUtf8(): void {
  if (patched) return;
  const db = createRequire(import.meta.url)("dynalite/db/index.js") as { itemSize?: ItemSize };
  const original = db.itemSize;
  if (typeof original !== "function") {
    throw new Error(
      "devcloud: dynalite's db.itemSize is not where devcloud patches it; check src/emulators/dynalite.ts against this dynalite version.",
    );
  }
  db.itemSize = (item, compress, addMetaSize, rangeKey) => {
    const size = original(item, compress, addMetaSize, rangeKey);
    return compress || addMetaSize ? size : size + utf8Excess(item);
  };
  patched = true;
}

/** UTF-8 bytes beyond one per UTF-16 code unit, over an item's names and string values. */
function utf8Excess(item: Record<string, AttributeValue>): number {
  let excess = 0;
  for (const [name, value] of Object.entries(item)) excess += textExcess(name) + valueExcess(value);
  return excess;
}

function valueExcess(value: AttributeValue): number {
  if (typeof value.S === "string") return textExcess(value.S);
  if (Array.isArray(value.SS)) return value.SS.reduce((sum: number, s) => sum + textExcess(String(s)), 0);
  if (Array.isArray(value.L)) return value.L.reduce((sum: number, v) => sum + valueExcess(v as AttributeValue), 0);
  if (value.M && typeof value.M === "object") return utf8Excess(value.M as Record<string, AttributeValue>);
  return 0;
}

function textExcess(text: string): number {
  return Buffer.byteLength(text, "utf8") - text.length;
}
