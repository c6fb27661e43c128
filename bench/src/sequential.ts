import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { costOf, createBedrockStageClient, DEFAULT_PRICES } from "@quire/bedrock";
import { startDevcloud } from "@quire/devcloud";
import { MODEL_ID } from "./cluster.ts";
import type { BenchDocument } from "./documents.ts";

/**
 * (c) The loop most first versions are: for each document, summarize, then classify, one call
 * at a time. Measured on a sample against the same model, extrapolated to the whole batch.
 */
export async function measureSequential(options: {
  sample: readonly BenchDocument[];
  total: number;
  timeScale: number;
  behaviour: Record<string, unknown>;
}) {
  const devcloud = await startDevcloud({
    port: 0,
    log: () => {},
    bedrock: { timeScale: options.timeScale, seed: 11, models: { [MODEL_ID]: options.behaviour } },
  });
  try {
    const bedrock = createBedrockStageClient({
      client: new BedrockRuntimeClient({ ...devcloud.clientConfig, maxAttempts: 1 }),
      modelId: MODEL_ID,
    });
    const started = performance.now();
    const tokens = { inputTokens: 0, outputTokens: 0 };
    for (const document of options.sample) {
      for (const result of [await bedrock.summarize(document.text), await bedrock.classify(document.text)]) {
        tokens.inputTokens += result.usage.inputTokens;
        tokens.outputTokens += result.usage.outputTokens;
      }
    }
    const perDocumentSeconds = (performance.now() - started) / 1000 / options.timeScale / options.sample.length;
    return {
      sampled: options.sample.length,
      perDocumentSeconds,
      seconds: perDocumentSeconds * options.total,
      docsPerSecond: 1 / perDocumentSeconds,
      // The same calls as (a)'s, one at a time: the sample's cost, extrapolated to every document.
      costUsd: ((costOf(tokens, MODEL_ID, DEFAULT_PRICES) ?? 0) * options.total) / options.sample.length,
    };
  } finally {
    await devcloud.stop();
  }
}
