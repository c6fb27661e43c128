import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { createBedrockStageClient } from "@quire/bedrock";
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
    for (const document of options.sample) {
      await bedrock.summarize(document.text);
      await bedrock.classify(document.text);
    }
    const perDocumentSeconds = (performance.now() - started) / 1000 / options.timeScale / options.sample.length;
    return {
      sampled: options.sample.length,
      perDocumentSeconds,
      seconds: perDocumentSeconds * options.total,
      docsPerSecond: 1 / perDocumentSeconds,
    };
  } finally {
    await devcloud.stop();
  }
}
