import { DEFAULT_MODEL_ID } from "@quire/bedrock";
import { quireEnvironmentSchema } from "@quire/config";
import { z } from "zod";

/**
 * What a deployment needs that AWS cannot tell it, read from the deploying shell's environment
 * (`QUIRE_EMAIL_SENDER=… npx sst deploy --stage production`), parsed once, failing with every
 * problem named — before anything is created.
 */
const deploySettingsSchema = z.object({
  /**
   * The address or domain notifications come from: the infra app creates its SES identity, the notifier sends from it.
   */
  QUIRE_EMAIL_SENDER: z.string().min(3).optional(),
  /** Alarms (DLQ not empty, messages waiting too long) are sent here, when set. */
  QUIRE_ALARM_EMAIL: z.email().optional(),
  QUIRE_MODEL_ID: z.string().min(1).default(DEFAULT_MODEL_ID),
  /**
   * The model's requests-per-minute quota (Service Quotas → Amazon Bedrock). Sets the stage
   * functions' event-source maximum concurrency; unset, a conservative 100 is assumed.
   */
  QUIRE_BEDROCK_RPM: z.coerce.number().int().positive().default(100),
  QUIRE_BEDROCK_LATENCY_MS: z.coerce.number().int().positive().default(8000),
  /** Where people reach the ingestion API, for links in emails sent by the notifier (its own app). */
  QUIRE_API_PUBLIC_URL: z.url().optional(),
});
export type DeploySettings = z.infer<typeof deploySettingsSchema>;

/**
 * Behaviour settings passed through to every function when set at deploy time, checked here by
 * the same schema the functions parse them with (so a typo fails the deploy, not a cold start).
 * Resource names are not among them: functions read those from their links.
 */
const FORWARDED = [
  "QUIRE_TAXONOMY",
  "QUIRE_MAX_DOCUMENT_BYTES",
  "QUIRE_CLAIM_CHECK_BYTES",
  "QUIRE_GOVERNOR",
  "QUIRE_BEDROCK_TPM",
  "QUIRE_BEDROCK_RETRIES",
  "QUIRE_GOVERNOR_INITIAL_LIMIT",
  "QUIRE_QUOTA_SHARE",
  "QUIRE_QUOTA_SHARE_REFRESH_MS",
  "QUIRE_GOVERNOR_BURST_MS",
  "QUIRE_BEDROCK_QUOTA_WINDOW_MS",
  "QUIRE_BEDROCK_PRICES",
  "QUIRE_GOVERNOR_REPORT_MS",
  "QUIRE_WEBHOOK_ALLOWLIST",
  "QUIRE_WEBHOOK_RETRY_SCHEDULE",
  "QUIRE_WEBHOOK_TIMEOUT_MS",
  "QUIRE_WEBHOOK_MAX_REDIRECTS",
  "QUIRE_WEBHOOK_DISABLE_AFTER",
  "QUIRE_WEBHOOK_SECRET_OVERLAP",
  "QUIRE_RETRY_BASE_DELAY_SECONDS",
  "QUIRE_RETRY_MAX_DELAY_SECONDS",
  "QUIRE_RETRY_MAX_AGE_SECONDS",
  "QUIRE_COMPUTATION_LEASE_MS",
  "QUIRE_EXTERNAL_SOURCES",
  "QUIRE_BEDROCK_CIRCUIT_OPEN_MS",
  "QUIRE_BEDROCK_CIRCUIT_MAX_OPEN_MS",
  "QUIRE_BATCH_POLL_SECONDS",
  "QUIRE_BATCH_TURNAROUND_SECONDS",
] as const;
const forwardedSchema = quireEnvironmentSchema
  .pick(Object.fromEntries(FORWARDED.map((key) => [key, true])) as { [K in (typeof FORWARDED)[number]]: true })
  .partial();

export class DeploySettingsError extends Error {
  override readonly name = "DeploySettingsError";
}

export function readDeploySettings(
  env: NodeJS.ProcessEnv = process.env,
): DeploySettings & { forwarded: Record<string, string> } {
  const settings = deploySettingsSchema.safeParse(env);
  const forwarded = forwardedSchema.safeParse(env);
  const problems = [...(settings.error?.issues ?? []), ...(forwarded.error?.issues ?? [])].map(
    (issue) => `${issue.path.join(".")}: ${issue.message}`,
  );
  if (!settings.success || !forwarded.success)
    throw new DeploySettingsError(`Quire's deploy settings are incomplete:\n  ${problems.join("\n  ")}`);
  const passed = Object.fromEntries(FORWARDED.flatMap((key) => (env[key] === undefined ? [] : [[key, env[key]!]])));
  return { ...settings.data, forwarded: passed };
}

/** The infra app and the notifier cannot deploy without a sender: say so before anything is created. */
export function requireEmailSender(settings: DeploySettings): string {
  if (!settings.QUIRE_EMAIL_SENDER) {
    throw new DeploySettingsError(
      "Set QUIRE_EMAIL_SENDER to the address or domain Quire sends email from (it becomes an SES identity), e.g. QUIRE_EMAIL_SENDER=notifications@example.com.",
    );
  }
  return settings.QUIRE_EMAIL_SENDER;
}
