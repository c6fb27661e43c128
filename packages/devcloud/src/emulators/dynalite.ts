/// <reference path="../types.d.ts" />
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import dynalite from "dynalite";

export interface DynamoDbEmulator {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * DynamoDB comes from dynalite: in memory without a data dir, LevelDB inside it with one.
 * `createTableMs: 0` makes tables ACTIVE at once, as tests and provisioning expect.
 */
export async function startDynamoDb(options: { dataDir: string | undefined }): Promise<DynamoDbEmulator> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: join(options.dataDir, "dynamodb") } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
