import { join } from "node:path";
import { startFauxqs, type FauxqsServer } from "fauxqs";

/**
 * SNS, SQS and S3 come from fauxqs, unchanged; devcloud only chooses where its state lives.
 * (fauxqs binds 0.0.0.0 whatever it is told; only the edge's address is advertised.)
 * With a data dir, queues, topics, messages (SQLite) and S3 objects (plain files) survive restarts.
 */
export async function startSnsSqsS3(options: { dataDir: string | undefined; region: string }): Promise<FauxqsServer> {
  return startFauxqs({
    port: 0,
    // No `host`: fauxqs then builds QueueUrls from the request's Host header, i.e. the edge
    // (http://127.0.0.1:4566/000000000000/<name>) rather than an unresolvable sqs.<region>.<host>.
    logger: false,
    defaultRegion: options.region,
    ...(options.dataDir
      ? { dataDir: join(options.dataDir, "sns-sqs"), s3StorageDir: join(options.dataDir, "s3") }
      : {}),
  });
}
