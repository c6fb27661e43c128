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
    // QueueUrls come out as http://sqs.<region>.localhost:<edge port>/000000000000/<name>: the
    // AWS shape, carrying the region and the edge's port (taken from the Host header). SDK
    // clients send them to their configured endpoint, so the host part is never resolved.
    logger: false,
    defaultRegion: options.region,
    ...(options.dataDir
      ? { dataDir: join(options.dataDir, "sns-sqs"), s3StorageDir: join(options.dataDir, "s3") }
      : {}),
  });
}
