/**
 * The Bedrock runtime backend the edge router hands `bedrock`-signed requests to. It routes
 * Converse, checks the request, applies the per-model quota and fault plan, runs the local
 * model, waits the (scaled) simulated latency, and answers in the SDK's wire format.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { ServiceBackend } from "../edge/backend.ts";
import {
  bedrockEmulatorOptionsSchema,
  DEFAULT_MODEL_BEHAVIOUR,
  KNOWN_MODELS,
  mergeBehaviour,
  modelBehaviourPatchSchema,
  modelBehaviourSchema,
  parseModelIdentifier,
  type BedrockEmulatorOptions,
  type BedrockEmulatorOptionsInput,
  type ModelBehaviour,
  type ModelBehaviourInput,
  type ModelIdentity,
} from "./config.ts";
import { drawFault, drawSlow, hashSeed, mulberry32, sampleLatencyMs, type RandomSource } from "./faults.ts";
import { handleBatchRequest, isBatchPath } from "./batch/api.ts";
import { createBatchJobs, type BatchDependencies, type BatchJobs, type RecordAnswer } from "./batch/jobs.ts";
import { respond } from "./model/respond.ts";
import { countInputTokens } from "./model/prompt.ts";
import { SlidingWindowQuota } from "./quota.ts";
import { validateConverseRequest } from "./validate.ts";
import {
  BedrockError,
  parseConverseRequest,
  writeError,
  writeJson,
  type ConverseRequest,
  type ConverseResponseBody,
} from "./wire.ts";

export interface ModelStats {
  /** Converse requests addressed to this model id (valid or not). */
  calls: number;
  succeeded: number;
  validationErrors: number;
  /** ThrottlingException answers, total and by which quota tripped. */
  throttles: number;
  throttledByRequests: number;
  throttledByTokens: number;
  faults: { modelError: number; serviceUnavailable: number; modelTimeout: number };
  slowResponses: number;
  /** Usage of successful calls, as reported in their usage blocks. */
  tokens: { input: number; output: number; total: number };
  /** Sum of unscaled simulated latency of answered calls (successes and model faults). */
  simulatedLatencyMs: number;
  /** Admitted requests the model is working on right now, and the most there ever were at once. */
  inFlight: number;
  peakInFlight: number;
}

export interface BedrockBackend extends ServiceBackend {
  readonly signingName: "bedrock";
  /** The parsed options (defaults filled in). */
  readonly options: BedrockEmulatorOptions;
  /**
   * Changes one model id's behaviour from now on (merged over what it has: nested groups merge
   * member by member). An id that was unknown becomes known. Throws on an invalid patch.
   */
  configureModel(modelId: string, patch: Partial<ModelBehaviourInput>): void;
  /** The effective behaviour a request to `modelId` would get now. */
  behaviourOf(modelId: string): ModelBehaviour;
  /** Snapshot of counters per requested model id (ARNs reduced to their resource id). */
  stats(): Record<string, ModelStats>;
  resetStats(): void;
  /** The batch inference jobs (CreateModelInvocationJob…), when the backend was given their storage. */
  readonly batchJobs: BatchJobs | undefined;
}

/** Seams for tests: a fake clock and sleeper make quota and latency tests instant. */
export interface BedrockBackendDependencies {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * What batch inference needs of the rest of devcloud (its S3 and event bus, where it is): without
   * it, the batch API answers that it is not available.
   */
  readonly batch?: Pick<BatchDependencies, "storage" | "announce" | "save"> & {
    readonly region: string;
    readonly account: string;
  };
}

interface ModelState {
  readonly quota: SlidingWindowQuota;
  readonly faultRandom: RandomSource;
  readonly latencyRandom: RandomSource;
  stats: ModelStats;
}

const NOT_EMULATED: Readonly<Record<string, string>> = {
  "converse-stream": "ConverseStream",
  invoke: "InvokeModel",
  "invoke-with-response-stream": "InvokeModelWithResponseStream",
  "invoke-with-bidirectional-stream": "InvokeModelWithBidirectionalStream",
  "count-tokens": "CountTokens",
  "async-invoke": "StartAsyncInvoke",
};

function emptyStats(): ModelStats {
  return {
    calls: 0,
    succeeded: 0,
    validationErrors: 0,
    throttles: 0,
    throttledByRequests: 0,
    throttledByTokens: 0,
    faults: { modelError: 0, serviceUnavailable: 0, modelTimeout: 0 },
    slowResponses: 0,
    tokens: { input: 0, output: 0, total: 0 },
    simulatedLatencyMs: 0,
    inFlight: 0,
    peakInFlight: 0,
  };
}

export function createBedrockBackend(
  optionsInput: BedrockEmulatorOptionsInput = {},
  dependencies: BedrockBackendDependencies = {},
): BedrockBackend {
  const options = bedrockEmulatorOptionsSchema.parse(optionsInput);
  const now = dependencies.now ?? (() => performance.now());
  const pendingTimers = new Map<NodeJS.Timeout, () => void>();
  const sleep =
    dependencies.sleep ??
    ((ms: number) =>
      new Promise<void>((resolve) => {
        if (ms <= 0) return resolve();
        const timer = setTimeout(() => {
          pendingTimers.delete(timer);
          resolve();
        }, ms);
        pendingTimers.set(timer, resolve);
      }));

  // Config keys may be ARNs or profile ids: normalise them the way request ids are normalised.
  const configuredModels = new Map<string, ModelBehaviourInput>();
  for (const [id, patch] of Object.entries(options.models))
    configuredModels.set(parseModelIdentifier(id).requestedId, patch);
  const runtimeOverrides = new Map<string, ModelBehaviourInput>();
  const behaviourCache = new Map<string, ModelBehaviour>();
  const states = new Map<string, ModelState>();
  const quotaWindowMs = 60_000 * options.timeScale;

  function isKnown(identity: ModelIdentity): boolean {
    return (
      options.acceptUnknownModels ||
      identity.baseModelId in KNOWN_MODELS ||
      [identity.requestedId, identity.baseModelId].some((id) => configuredModels.has(id) || runtimeOverrides.has(id))
    );
  }

  function resolveBehaviour(identity: ModelIdentity): ModelBehaviour {
    const cached = behaviourCache.get(identity.requestedId);
    if (cached !== undefined) return cached;
    const { requestedId, baseModelId } = identity;
    const specific = (layers: Map<string, ModelBehaviourInput>) =>
      requestedId === baseModelId ? [layers.get(baseModelId)] : [layers.get(baseModelId), layers.get(requestedId)];
    const merged = mergeBehaviour(
      DEFAULT_MODEL_BEHAVIOUR,
      KNOWN_MODELS[baseModelId],
      options.defaults,
      ...specific(configuredModels),
      ...specific(runtimeOverrides),
    );
    const behaviour = modelBehaviourSchema.parse(merged);
    behaviourCache.set(requestedId, behaviour);
    return behaviour;
  }

  function stateOf(requestedId: string): ModelState {
    let state = states.get(requestedId);
    if (state === undefined) {
      state = {
        quota: new SlidingWindowQuota(quotaWindowMs, now),
        faultRandom: mulberry32(hashSeed(options.seed, requestedId, "faults")),
        latencyRandom: mulberry32(hashSeed(options.seed, requestedId, "latency")),
        stats: emptyStats(),
      };
      states.set(requestedId, state);
    }
    return state;
  }

  async function converse(identity: ModelIdentity, body: Buffer, res: ServerResponse): Promise<void> {
    if (!isKnown(identity)) {
      throw new BedrockError("ValidationException", "The provided model identifier is invalid.");
    }
    const behaviour = resolveBehaviour(identity);
    const state = stateOf(identity.requestedId);
    const stats = state.stats;
    stats.calls++;

    let limits: { maxTokens: number };
    let request: ConverseRequest;
    let inputTokens: number;
    try {
      request = parseConverseRequest(body);
      inputTokens = countInputTokens(request);
      limits = validateConverseRequest(request, behaviour, inputTokens);
    } catch (error) {
      if (error instanceof BedrockError) stats.validationErrors++;
      throw error;
    }

    // Both draws happen for every valid request so the sequence depends only on request order.
    const fault = drawFault(behaviour.faults, state.faultRandom);
    const slow = drawSlow(behaviour.faults, state.faultRandom);
    if (fault === "serviceUnavailable") {
      // Capacity shortfall in front of the model: nothing ran, nothing is metered.
      stats.faults.serviceUnavailable++;
      throw new BedrockError("ServiceUnavailableException", "Bedrock is unable to process your request.");
    }

    const decision = state.quota.tryAdmit(behaviour.quota, inputTokens + limits.maxTokens);
    if (!decision.admitted) {
      stats.throttles++;
      if (decision.limit === "requests") stats.throttledByRequests++;
      else stats.throttledByTokens++;
      const base =
        decision.limit === "requests"
          ? "Too many requests, please wait before trying again."
          : "Too many tokens, please wait before trying again.";
      const detail = decision.neverFits
        ? ` (This request reserves ${inputTokens + limits.maxTokens} tokens — input plus maxTokens — more than this model's quota of ${behaviour.quota.tokensPerMinute} tokens per minute; lower maxTokens.)`
        : "";
      throw new BedrockError("ThrottlingException", base + detail);
    }

    let settledTokens = inputTokens;
    // On the current stats object (not `stats`): a resetStats() mid-call must not strand the count.
    state.stats.inFlight++;
    state.stats.peakInFlight = Math.max(state.stats.peakInFlight, state.stats.inFlight);
    try {
      const answer = respond(request, limits.maxTokens);
      const slowFactor = slow ? behaviour.faults.slowFactor : 1;
      const latencyMs = sampleLatencyMs(behaviour.latency, answer.outputTokens, state.latencyRandom) * slowFactor;
      await sleep(latencyMs * options.timeScale);
      stats.simulatedLatencyMs += latencyMs;
      if (fault === "modelError") {
        stats.faults.modelError++;
        throw new BedrockError(
          "ModelErrorException",
          "The system encountered an unexpected error during processing. Try your request again.",
          {
            originalStatusCode: 500,
            resourceName: identity.requestedId,
          },
        );
      }
      if (fault === "modelTimeout") {
        stats.faults.modelTimeout++;
        throw new BedrockError(
          "ModelTimeoutException",
          "Model has timed out in processing the request. Try your request again.",
        );
      }
      if (slow) stats.slowResponses++;
      settledTokens = inputTokens + answer.outputTokens;
      const response: ConverseResponseBody = {
        output: { message: { role: "assistant", content: answer.content } },
        stopReason: answer.stopReason,
        usage: { inputTokens, outputTokens: answer.outputTokens, totalTokens: inputTokens + answer.outputTokens },
        // Real (unscaled) model time, so a time-scaled run reports the latencies it is simulating.
        metrics: { latencyMs: Math.round(latencyMs) },
      };
      stats.succeeded++;
      stats.tokens.input += inputTokens;
      stats.tokens.output += answer.outputTokens;
      stats.tokens.total += inputTokens + answer.outputTokens;
      writeJson(res, 200, response);
    } finally {
      state.stats.inFlight--;
      // A failed model call still consumed its input; the unused maxTokens reservation is released.
      decision.admission.settle(settledTokens);
    }
  }

  /** One batch record, in Converse format, as the model answers it on demand (no quota or latency: the job paces itself). */
  function answerBatchRecord(modelId: string, modelInput: Record<string, unknown>): RecordAnswer {
    const identity = parseModelIdentifier(modelId);
    const behaviour = resolveBehaviour(identity);
    try {
      const request = parseConverseRequest(Buffer.from(JSON.stringify(modelInput)));
      const inputTokens = countInputTokens(request);
      const limits = validateConverseRequest(request, behaviour, inputTokens);
      const answer = respond(request, limits.maxTokens);
      const modelOutput: ConverseResponseBody = {
        output: { message: { role: "assistant", content: answer.content } },
        stopReason: answer.stopReason,
        usage: { inputTokens, outputTokens: answer.outputTokens, totalTokens: inputTokens + answer.outputTokens },
        metrics: { latencyMs: 0 },
      };
      return { ok: true, modelOutput, inputTokens, outputTokens: answer.outputTokens };
    } catch (error) {
      if (error instanceof BedrockError) return { ok: false, errorCode: error.statusCode, errorMessage: error.message };
      throw error;
    }
  }

  const batchJobs = dependencies.batch
    ? createBatchJobs(
        {
          ...options.batch,
          timeScale: options.timeScale,
          seed: options.seed,
          region: dependencies.batch.region,
          account: dependencies.batch.account,
        },
        {
          storage: dependencies.batch.storage,
          announce: dependencies.batch.announce,
          ...(dependencies.batch.save ? { save: dependencies.batch.save } : {}),
          answer: answerBatchRecord,
          knowsModel: (modelId) => isKnown(parseModelIdentifier(modelId)),
        },
      )
    : undefined;

  async function route(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (isBatchPath(path)) {
      if (!batchJobs) {
        throw new BedrockError(
          "UnknownOperationException",
          "This Bedrock emulator was started without batch inference.",
        );
      }
      return handleBatchRequest(batchJobs, req, body, res);
    }
    const match = /^\/model\/([^/]+)\/([a-z-]+)\/?$/.exec(path);
    const operation = match?.[2];
    if (req.method !== "POST" || match === null || operation === undefined) {
      throw new BedrockError(
        "UnknownOperationException",
        `No Bedrock runtime operation matches ${req.method ?? "?"} ${path}.`,
      );
    }
    let modelId: string;
    try {
      modelId = decodeURIComponent(match[1] ?? "");
    } catch {
      throw new BedrockError("ValidationException", "The provided model identifier is invalid.");
    }
    if (operation === "converse") return converse(parseModelIdentifier(modelId), body, res);
    const name = NOT_EMULATED[operation];
    if (name !== undefined) {
      throw new BedrockError(
        "UnknownOperationException",
        `${name} is not emulated by devcloud's Bedrock runtime; use Converse (POST /model/{modelId}/converse).`,
      );
    }
    throw new BedrockError("UnknownOperationException", `No Bedrock runtime operation matches ${req.method} ${path}.`);
  }

  return {
    signingName: "bedrock",
    options,

    async handle(req, body, res) {
      try {
        await route(req, body, res);
      } catch (error) {
        const answer =
          error instanceof BedrockError
            ? error
            : new BedrockError(
                "InternalServerException",
                `devcloud Bedrock emulator failed: ${error instanceof Error ? error.message : String(error)}`,
              );
        writeError(res, answer);
      }
    },

    configureModel(modelId, patch) {
      const parsedPatch = modelBehaviourPatchSchema.parse(patch);
      const { requestedId } = parseModelIdentifier(modelId);
      runtimeOverrides.set(requestedId, mergeBehaviour(runtimeOverrides.get(requestedId) ?? {}, parsedPatch));
      // Layers cascade from base ids to profile ids, so any cached behaviour may be stale.
      behaviourCache.clear();
    },

    behaviourOf(modelId) {
      return resolveBehaviour(parseModelIdentifier(modelId));
    },

    stats() {
      return Object.fromEntries([...states].map(([id, state]) => [id, structuredClone(state.stats)]));
    },

    resetStats() {
      for (const state of states.values()) state.stats = { ...emptyStats(), inFlight: state.stats.inFlight };
    },

    batchJobs,

    async close() {
      batchJobs?.close();
      // Let in-flight simulated waits finish at once so shutdown never hangs on a long latency.
      for (const [timer, resolve] of pendingTimers) {
        clearTimeout(timer);
        resolve();
      }
      pendingTimers.clear();
    },
  };
}
