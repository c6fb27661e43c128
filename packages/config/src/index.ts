import { z } from "zod";

/**
 * Every setting a Quire service reads, parsed once from the environment. Locally the values
 * are the env lines devcloud prints (`QUIRE_QUEUE_SUMMARIZER_URL`…); deployed, the same names
 * are set from the stack's outputs. Handlers receive the parsed object, never `process.env`.
 */
const resourceName = z.string().min(1);
const positiveInt = z.coerce.number().int().positive();

export const quireEnvironmentSchema = z.object({
  AWS_REGION: z.string().default("us-east-1"),
  QUIRE_TOPIC_DOCUMENTS_ARN: resourceName,
  QUIRE_QUEUE_INGESTION_URL: resourceName,
  QUIRE_QUEUE_SUMMARIZER_URL: resourceName,
  QUIRE_QUEUE_CLASSIFIER_URL: resourceName,
  QUIRE_QUEUE_NOTIFIER_URL: resourceName,
  QUIRE_DLQ_INGESTION_URL: resourceName,
  QUIRE_DLQ_SUMMARIZER_URL: resourceName,
  QUIRE_DLQ_CLASSIFIER_URL: resourceName,
  QUIRE_DLQ_NOTIFIER_URL: resourceName,
  QUIRE_BUS_EVENTS_NAME: resourceName,
  QUIRE_TABLE_JOBS_NAME: resourceName,
  QUIRE_TABLE_NOTIFICATIONS_NAME: resourceName,
  QUIRE_BUCKET_DOCUMENTS_NAME: resourceName,
  QUIRE_MODEL_ID: z.string().min(1).default("anthropic.claude-3-haiku-20240307-v1:0"),
  QUIRE_TAXONOMY: z
    .string()
    .default("contract,court-filing,correspondence,invoice,policy,other")
    .transform((list) => list.split(",").map((label) => label.trim()).filter(Boolean))
    .pipe(z.array(z.string()).min(2, "QUIRE_TAXONOMY needs at least two labels")),
  QUIRE_API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  QUIRE_API_KEY: z.string().min(16, "QUIRE_API_KEY must be at least 16 characters").optional(),
  QUIRE_MAX_DOCUMENT_BYTES: positiveInt.default(10 * 1024 * 1024),
  /** Documents above this travel by claim check (S3 pointer), keeping SNS/SQS messages under 256 KiB with headroom. */
  QUIRE_CLAIM_CHECK_BYTES: positiveInt.default(200 * 1024),
  QUIRE_WORKER_CONCURRENCY: positiveInt.default(8),
});

export type QuireConfig = z.infer<typeof quireEnvironmentSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parse the environment; a missing or malformed variable fails fast, naming every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): QuireConfig {
  const result = quireEnvironmentSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(
      `Quire configuration is incomplete:\n  ${problems.join("\n  ")}\nLocally, start devcloud (npm run devcloud) and use the env lines it prints.`,
    );
  }
  return result.data;
}
