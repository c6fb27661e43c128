/**
 * Emulator configuration: which model ids exist, and per model id how the simulated model
 * behaves (limits, latency, quotas, faults). Everything has a default so an empty config works.
 *
 * Behaviour is layered, most specific last:
 *   built-in defaults → catalog limits of the base model → `defaults` → `models[baseId]`
 *   → `models[requestedId]` → run-time `configureModel(requestedId, ...)`.
 * The requested id is kept distinct from its base model because Bedrock meters cross-region
 * inference profiles ("us.amazon.nova-lite-v1:0") separately from the on-demand model.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";

const rate = z.number().min(0).max(1);
const milliseconds = z.number().finite().nonnegative();

export const latencySchema = z.object({
  /**
   * Shape of the token-independent part: fixed = meanMs; uniform = meanMs ± jitterMs; normal/lognormal with stddev
   * jitterMs.
   */
  distribution: z.enum(["fixed", "uniform", "normal", "lognormal"]),
  meanMs: milliseconds,
  jitterMs: milliseconds,
  /** Generation time per output token, added to the sample: long answers take longer, as with real models. */
  perOutputTokenMs: milliseconds,
  /** Floor for a sample, so a normal tail never yields a zero or negative time. */
  minMs: milliseconds,
});

export const quotaSchema = z.object({
  /** Requests admitted per (scaled) minute; null = unlimited. */
  requestsPerMinute: z.number().int().positive().nullable(),
  /** Tokens (input + reserved maxTokens) per (scaled) minute; null = unlimited. */
  tokensPerMinute: z.number().int().positive().nullable(),
});

export const faultSchema = z.object({
  /** Fraction answered 424 ModelErrorException (after the model "ran"). */
  modelErrorRate: rate,
  /** Fraction answered 503 ServiceUnavailableException (at once, before the model runs). */
  serviceUnavailableRate: rate,
  /** Fraction answered 408 ModelTimeoutException (after the model "ran"). */
  modelTimeoutRate: rate,
  /** Fraction of successful answers that take `slowFactor` times longer. */
  slowRate: rate,
  slowFactor: z.number().min(1),
});

export const modelBehaviourSchema = z.object({
  /** Upper bound for inferenceConfig.maxTokens, and the reservation when it is absent. */
  maxOutputTokens: z.number().int().positive(),
  /** Input beyond this is rejected: "Input is too long for requested model." */
  contextWindowTokens: z.number().int().positive(),
  /** Models without Converse tool use (e.g. Llama 3.0, Mistral 7B) reject toolConfig. */
  supportsToolUse: z.boolean(),
  latency: latencySchema,
  quota: quotaSchema,
  faults: faultSchema,
});
export type ModelBehaviour = z.infer<typeof modelBehaviourSchema>;

/** A partial behaviour, as written in config or passed to configureModel; nested groups are partial too. */
export const modelBehaviourPatchSchema = z.object({
  maxOutputTokens: modelBehaviourSchema.shape.maxOutputTokens.optional(),
  contextWindowTokens: modelBehaviourSchema.shape.contextWindowTokens.optional(),
  supportsToolUse: z.boolean().optional(),
  latency: latencySchema.partial().optional(),
  quota: quotaSchema.partial().optional(),
  faults: faultSchema.partial().optional(),
});
export type ModelBehaviourInput = z.input<typeof modelBehaviourPatchSchema>;

export const DEFAULT_MODEL_BEHAVIOUR: ModelBehaviour = {
  maxOutputTokens: 4096,
  contextWindowTokens: 128_000,
  supportsToolUse: true,
  // ~0.3 s to first token plus ~5 ms per generated token: the order of a small hosted model.
  latency: { distribution: "normal", meanMs: 300, jitterMs: 75, perOutputTokenMs: 5, minMs: 20 },
  // Generous, but finite, so local runs meet throttling the way production eventually does.
  quota: { requestsPerMinute: 1000, tokensPerMinute: 2_000_000 },
  faults: { modelErrorRate: 0, serviceUnavailableRate: 0, modelTimeoutRate: 0, slowRate: 0, slowFactor: 5 },
};

/**
 * Bedrock batch inference (CreateModelInvocationJob): AWS's per-model quotas (the defaults AWS
 * reports: at least 100 and at most 50,000 records per job, 1 GB per input file, 5 GB per job, 10
 * jobs in progress per model) and how long a job takes, in simulated seconds (× timeScale):
 * queued for validation, then waiting for capacity, then records at a steady rate. A real job
 * takes minutes to hours; the defaults keep a local one to a few minutes.
 */
export const batchOptionsSchema = z.object({
  minRecordsPerJob: z.number().int().nonnegative().default(100),
  maxRecordsPerJob: z.number().int().positive().default(50_000),
  maxRecordsPerFile: z.number().int().positive().default(50_000),
  maxInputFileBytes: z
    .number()
    .int()
    .positive()
    .default(1024 ** 3),
  maxJobBytes: z
    .number()
    .int()
    .positive()
    .default(5 * 1024 ** 3),
  maxActiveJobsPerModel: z.number().int().positive().default(10),
  submittedSeconds: z.number().nonnegative().default(5),
  scheduledSeconds: z.number().nonnegative().default(30),
  recordsPerSecond: z.number().positive().default(20),
  /** Fraction of well-formed records answered with a per-record error (errorCode 500) instead of an output. */
  recordFailureRate: rate.default(0),
});
export type BatchOptions = z.infer<typeof batchOptionsSchema>;

export const bedrockEmulatorOptionsSchema = z.object({
  /**
   * Multiplies every simulated duration — model latency AND the quota window (a "minute" lasts
   * 60 s × timeScale) — so a run at 0.01 is a faithful 100× fast-forward of the real one.
   */
  timeScale: z.number().positive().default(1),
  /** Seed for the fault and latency PRNGs: same seed, same sequence per model id. */
  seed: z.number().int().default(1),
  /** Applied to every model before per-model entries. */
  defaults: modelBehaviourPatchSchema.default({}),
  /** Per model id (base id, inference-profile id, or ARN resource id); listing an id also makes it known. */
  models: z.record(z.string(), modelBehaviourPatchSchema).default({}),
  /** Accept any model id instead of answering "The provided model identifier is invalid." */
  acceptUnknownModels: z.boolean().default(false),
  batch: batchOptionsSchema.default(batchOptionsSchema.parse({})),
});
export type BedrockEmulatorOptions = z.infer<typeof bedrockEmulatorOptionsSchema>;
export type BedrockEmulatorOptionsInput = z.input<typeof bedrockEmulatorOptionsSchema>;

type CatalogLimits = Pick<ModelBehaviour, "maxOutputTokens" | "contextWindowTokens" | "supportsToolUse">;

const claude3: CatalogLimits = { maxOutputTokens: 4096, contextWindowTokens: 200_000, supportsToolUse: true };
const claude35: CatalogLimits = { maxOutputTokens: 8192, contextWindowTokens: 200_000, supportsToolUse: true };
const claude4: CatalogLimits = { maxOutputTokens: 64_000, contextWindowTokens: 200_000, supportsToolUse: true };
const nova: CatalogLimits = { maxOutputTokens: 10_000, contextWindowTokens: 300_000, supportsToolUse: true };
const llama3: CatalogLimits = { maxOutputTokens: 2048, contextWindowTokens: 8192, supportsToolUse: false };
const llama31: CatalogLimits = { maxOutputTokens: 8192, contextWindowTokens: 128_000, supportsToolUse: true };
const mistralSmall: CatalogLimits = { maxOutputTokens: 8192, contextWindowTokens: 32_000, supportsToolUse: false };
const mistralLarge: CatalogLimits = { maxOutputTokens: 8192, contextWindowTokens: 128_000, supportsToolUse: true };

/** Common Bedrock text models (on-demand ids) with their published output/context limits. */
export const KNOWN_MODELS: Readonly<Record<string, CatalogLimits>> = {
  "anthropic.claude-3-haiku-20240307-v1:0": claude3,
  "anthropic.claude-3-sonnet-20240229-v1:0": claude3,
  "anthropic.claude-3-opus-20240229-v1:0": claude3,
  "anthropic.claude-3-5-haiku-20241022-v1:0": claude35,
  "anthropic.claude-3-5-sonnet-20240620-v1:0": claude35,
  "anthropic.claude-3-5-sonnet-20241022-v2:0": claude35,
  "anthropic.claude-3-7-sonnet-20250219-v1:0": claude4,
  "anthropic.claude-sonnet-4-20250514-v1:0": claude4,
  "anthropic.claude-sonnet-4-5-20250929-v1:0": claude4,
  "anthropic.claude-haiku-4-5-20251001-v1:0": claude4,
  "anthropic.claude-opus-4-20250514-v1:0": { ...claude4, maxOutputTokens: 32_000 },
  "anthropic.claude-opus-4-1-20250805-v1:0": { ...claude4, maxOutputTokens: 32_000 },
  "amazon.nova-micro-v1:0": { ...nova, contextWindowTokens: 128_000 },
  "amazon.nova-lite-v1:0": nova,
  "amazon.nova-pro-v1:0": nova,
  "amazon.nova-premier-v1:0": { ...nova, contextWindowTokens: 1_000_000 },
  "meta.llama3-8b-instruct-v1:0": llama3,
  "meta.llama3-70b-instruct-v1:0": llama3,
  "meta.llama3-1-8b-instruct-v1:0": llama31,
  "meta.llama3-1-70b-instruct-v1:0": llama31,
  "meta.llama3-1-405b-instruct-v1:0": llama31,
  "meta.llama3-2-1b-instruct-v1:0": llama31,
  "meta.llama3-2-3b-instruct-v1:0": llama31,
  "meta.llama3-2-11b-instruct-v1:0": llama31,
  "meta.llama3-2-90b-instruct-v1:0": llama31,
  "meta.llama3-3-70b-instruct-v1:0": llama31,
  "mistral.mistral-7b-instruct-v0:2": mistralSmall,
  "mistral.mixtral-8x7b-instruct-v0:1": { ...mistralSmall, maxOutputTokens: 4096 },
  "mistral.mistral-small-2402-v1:0": { ...mistralSmall, supportsToolUse: true },
  "mistral.mistral-large-2402-v1:0": { ...mistralLarge, contextWindowTokens: 32_000 },
  "mistral.mistral-large-2407-v1:0": mistralLarge,
};

/** Cross-region inference profile prefixes; "us.amazon.nova-lite-v1:0" runs amazon.nova-lite-v1:0. */
export const INFERENCE_PROFILE_PREFIXES = ["us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca."] as const;

export interface ModelIdentity {
  /** What the caller asked for, with an ARN reduced to its resource id: the key for quotas and stats. */
  readonly requestedId: string;
  /** The underlying model (profile prefix removed): the key for catalog limits. */
  readonly baseModelId: string;
}

/**
 * Reduces an ARN to its resource id and strips an inference-profile prefix. ARN kinds without a
 * model id inside (provisioned throughput, imported models) yield an opaque resource id, which
 * is only known if configured under `models`.
 */
export function parseModelIdentifier(raw: string): ModelIdentity {
  let requestedId = raw.trim();
  const arn = /^arn:aws[\w-]*:bedrock:[\w-]*:\d*:([\w-]+)\/(.+)$/.exec(requestedId);
  if (arn) requestedId = arn[2] ?? requestedId;
  const prefix = INFERENCE_PROFILE_PREFIXES.find((candidate) => requestedId.startsWith(candidate));
  const baseModelId = prefix === undefined ? requestedId : requestedId.slice(prefix.length);
  return { requestedId, baseModelId };
}

/** Reads QUIRE_BEDROCK_CONFIG: inline JSON (starts with "{") or a path to a JSON file. Unset → {}. */
export function bedrockOptionsFromEnv(env: NodeJS.ProcessEnv): BedrockEmulatorOptionsInput {
  const raw = env.QUIRE_BEDROCK_CONFIG?.trim();
  if (raw === undefined || raw.length === 0) return {};
  let text = raw;
  if (!raw.startsWith("{")) {
    try {
      text = readFileSync(raw, "utf8");
    } catch (error) {
      throw new Error(`QUIRE_BEDROCK_CONFIG: cannot read file "${raw}": ${(error as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`QUIRE_BEDROCK_CONFIG: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = bedrockEmulatorOptionsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`QUIRE_BEDROCK_CONFIG: ${z.prettifyError(parsed.error)}`);
  return json as BedrockEmulatorOptionsInput;
}

/** Merges behaviour layers; nested groups merge member by member, undefined never overwrites. */
export function mergeBehaviour(
  base: ModelBehaviourInput,
  ...patches: ReadonlyArray<ModelBehaviourInput | undefined>
): ModelBehaviourInput {
  let merged: ModelBehaviourInput = { ...base };
  for (const patch of patches) {
    if (patch === undefined) continue;
    merged = {
      ...merged,
      ...definedOnly(patch),
      latency: { ...merged.latency, ...definedOnly(patch.latency ?? {}) },
      quota: { ...merged.quota, ...definedOnly(patch.quota ?? {}) },
      faults: { ...merged.faults, ...definedOnly(patch.faults ?? {}) },
    };
  }
  return merged;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
