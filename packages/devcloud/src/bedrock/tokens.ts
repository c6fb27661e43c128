/**
 * Token estimation shared by the usage block, the quota and the maxTokens cut.
 *
 * Real tokenizers average roughly four characters of English per token; the emulator only needs
 * an estimate that is deterministic and monotone in the text length, so that the same request
 * always costs the same and a longer answer never costs less.
 */
export const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * The longest prefix of `text` whose estimate fits in `maxTokens`, cut back to a word boundary
 * when one is near, as a real model stopping at max_tokens ends mid-sentence but on a token.
 */
export function truncateToTokens(text: string, maxTokens: number): string {
  const maxChars = Math.max(0, Math.floor(maxTokens)) * CHARS_PER_TOKEN;
  if (text.length <= maxChars) return text;
  const hardCut = text.slice(0, maxChars);
  const lastSpace = hardCut.search(/\s\S*$/);
  // Only back off to the word boundary when that keeps most of the budget; a single very long
  // "word" (a URL, a hash) is cut mid-word instead of producing an empty answer.
  const cut = lastSpace > maxChars / 2 ? hardCut.slice(0, lastSpace) : hardCut;
  return cut.trimEnd();
}
