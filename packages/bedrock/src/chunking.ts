/**
 * Documents longer than a model's context window are split at natural boundaries: the last
 * paragraph break, else the last sentence end, in the final fifth of each chunk; a hard cut
 * only when a chunk has neither.
 */
export function splitForContext(text: string, maxChars: number): string[] {
  if (maxChars < 100) throw new RangeError("maxChars must be at least 100");
  const chunks: string[] = [];
  let start = 0;
  while (text.length - start > maxChars) {
    const window = text.slice(start, start + maxChars);
    const floor = Math.floor(maxChars * 0.8);
    const paragraph = window.lastIndexOf("\n\n");
    const sentence = Math.max(
      window.lastIndexOf(". "),
      window.lastIndexOf(".\n"),
      window.lastIndexOf("? "),
      window.lastIndexOf("! "),
    );
    const cut = paragraph >= floor ? paragraph + 2 : sentence >= floor ? sentence + 2 : maxChars;
    chunks.push(text.slice(start, start + cut).trim());
    start += cut;
  }
  const rest = text.slice(start).trim();
  if (rest.length > 0) chunks.push(rest);
  return chunks;
}

/** The leading part of a document that fits, ending at a boundary where one is near. */
export function leadingExcerpt(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : splitForContext(text, maxChars)[0]!;
}
