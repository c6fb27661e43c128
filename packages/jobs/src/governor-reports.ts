import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient, queryPartition } from "./dynamo.ts";

/**
 * What one process's Bedrock governor says about one model, as it last reported it: the figures a
 * person needs to see why a run is as fast as it is (the console's throughput page).
 */
export interface GovernorReport {
  /** The reporting process (host, pid and a random suffix), or Lambda container. */
  processId: string;
  /** The services whose process it is (`summarizer`; `summarizer,classifier` when one process hosts both). */
  service: string;
  modelId: string;
  /** Calls it lets run at once now (the adaptive limit), and those running. */
  limit: number;
  inFlight: number;
  /** Calls waiting for a slot, by lane. */
  waiting: { interactive: number; bulk: number };
  /** Since the process started: calls that succeeded, were throttled, or failed otherwise. */
  successes: number;
  throttles: number;
  errors: number;
  /** The fraction of the configured quota its buckets run at, and the quota as it has learned it (× configured). */
  share: number;
  scale: number;
  circuit: string;
  /** Epoch ms. */
  reportedAt: number;
}

/** Every report lives in one partition: a handful of processes, each rewriting its item every few seconds. */
const PARTITION = "GOVERNORS";
const keyOf = (processId: string, modelId: string) => ({ pk: PARTITION, sk: `PROCESS#${processId}#${modelId}` });

export interface GovernorReportStore {
  /** Rewrites this process's report for its model; it expires (TTL) `ttlMs` after, should the process die. */
  report(report: GovernorReport, ttlMs: number): Promise<void>;
  /** The reports made within the last `freshMs` (older ones are processes that stopped). */
  recent(freshMs: number, now?: number): Promise<GovernorReport[]>;
  /** A stopping process takes its report for a model away (a crashed one's lapses, then expires). */
  withdraw(processId: string, modelId: string): Promise<void>;
}

export function createGovernorReportStore(options: { client: DynamoDBClient; tableName: string }): GovernorReportStore {
  const db = documentClient(options.client);
  const { tableName } = options;
  return {
    async report(report, ttlMs) {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...keyOf(report.processId, report.modelId),
            entity: "governorReport",
            ...report,
            expiresAt: Math.ceil((report.reportedAt + ttlMs) / 1000),
          },
        }),
      );
    },
    async recent(freshMs, now = Date.now()) {
      const reports: GovernorReport[] = [];
      for (const item of await queryPartition(db, tableName, PARTITION)) {
        if (typeof item.processId !== "string" || Number(item.reportedAt) < now - freshMs) continue;
        const { pk: _pk, sk: _sk, entity: _entity, expiresAt: _expiresAt, ...report } = item;
        reports.push(report as unknown as GovernorReport);
      }
      return reports.sort((a, b) => a.service.localeCompare(b.service) || a.processId.localeCompare(b.processId));
    },
    async withdraw(processId, modelId) {
      await db.send(new DeleteCommand({ TableName: tableName, Key: keyOf(processId, modelId) }));
    },
  };
}
