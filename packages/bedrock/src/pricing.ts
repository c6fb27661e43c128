import { z } from "zod";
import { DEFAULT_MODEL_ID } from "@quire/contracts";

/**
 * What a model's tokens cost, in US dollars per million tokens: on demand (Converse) and through
 * batch inference (CreateModelInvocationJob), input and output apart. Prices change and differ by
 * region, so the table is configuration (QUIRE_BEDROCK_PRICES) with documented defaults.
 */
export const modelPrice = z.strictObject({
  inputPerMillion: z.number().nonnegative(),
  outputPerMillion: z.number().nonnegative(),
  batchInputPerMillion: z.number().nonnegative(),
  batchOutputPerMillion: z.number().nonnegative(),
});
export type ModelPrice = z.infer<typeof modelPrice>;
export const priceTable = z.record(z.string().min(1), modelPrice);
export type PriceTable = z.infer<typeof priceTable>;

/**
 * The defaults, as AWS's Amazon Bedrock pricing page listed them (us-east-1, on-demand and batch
 * text tokens) when taken, 2026-12-02: Claude 3 Haiku $0.25 / $1.25 per million input / output
 * tokens, batch half that. Check them against https://aws.amazon.com/bedrock/pricing/ for your
 * region and set QUIRE_BEDROCK_PRICES when they differ.
 */
export const PRICES_TAKEN_AT = "2026-12-02";
export const DEFAULT_PRICES: PriceTable = {
  [DEFAULT_MODEL_ID]: {
    inputPerMillion: 0.25,
    outputPerMillion: 1.25,
    batchInputPerMillion: 0.125,
    batchOutputPerMillion: 0.625,
  },
};

/** QUIRE_BEDROCK_PRICES (a JSON price table) over the defaults, model by model; a bad table says what is wrong. */
export function loadPriceTable(json: string | undefined): PriceTable {
  if (!json) return DEFAULT_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`QUIRE_BEDROCK_PRICES is not JSON: ${(error as Error).message}`);
  }
  const table = priceTable.safeParse(parsed);
  if (!table.success)
    throw new Error(
      `QUIRE_BEDROCK_PRICES: ${table.error.issues.map((i) => `${i.path.join(".") || "(table)"}: ${i.message}`).join("; ")}`,
    );
  return { ...DEFAULT_PRICES, ...table.data };
}

export interface TokenCount {
  inputTokens: number;
  outputTokens: number;
}

/**
 * What `usage` of `modelId` costs in US dollars (rounded to a millionth of a dollar), on demand or
 * in batch; undefined when the table has no price for the model (an unknown cost is not zero).
 */
export function costOf(
  usage: TokenCount,
  modelId: string,
  prices: PriceTable,
  mode: "onDemand" | "batch" = "onDemand",
): number | undefined {
  const price = prices[modelId];
  if (!price) return undefined;
  const [input, output] =
    mode === "batch"
      ? [price.batchInputPerMillion, price.batchOutputPerMillion]
      : [price.inputPerMillion, price.outputPerMillion];
  return Math.round(usage.inputTokens * input + usage.outputTokens * output) / 1_000_000;
}

/**
 * Results' tokens summed, and their cost in millionths of a dollar — each result priced at the
 * model it names (and as it was called: on demand or in batch), in integers so that sums stay exact; undefined when one of them has no price.
 * What a job's usage is, wherever it is shown or counted (its view, its run).
 */
export function pricedUsage(
  results: readonly { usage: TokenCount; modelId: string; inference?: "onDemand" | "batch" | undefined }[],
  prices: PriceTable,
): TokenCount & { costMicroUsd: number | undefined } {
  let costMicroUsd: number | undefined = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  for (const { usage, modelId, inference } of results) {
    inputTokens += usage.inputTokens;
    outputTokens += usage.outputTokens;
    // A result from batch inference is priced at the batch rate.
    const cost = costOf(usage, modelId, prices, inference ?? "onDemand");
    costMicroUsd = cost === undefined || costMicroUsd === undefined ? undefined : costMicroUsd + Math.round(cost * 1e6);
  }
  return { inputTokens, outputTokens, costMicroUsd };
}
