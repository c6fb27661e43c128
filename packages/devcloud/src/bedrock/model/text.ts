/**
 * Text primitives for the deterministic local model: sentence splitting, word tokens, stop words.
 * Kept free of any Bedrock wire concerns so the summarizer and classifier can be unit-tested alone.
 */

/** Abbreviations that end in a period without ending a sentence (common in legal and business text). */
const NON_TERMINAL_ABBREVIATIONS = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "no",
  "nos",
  "vs",
  "v",
  "inc",
  "ltd",
  "llc",
  "co",
  "corp",
  "dept",
  "e.g",
  "i.e",
  "etc",
  "art",
  "sec",
  "para",
  "cf",
  "approx",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "oct",
  "nov",
  "dec",
  "u.s",
  "fig",
  "p",
  "pp",
  "ex",
  "est",
]);

export const STOP_WORDS = new Set([
  "a",
  "about",
  "above",
  "after",
  "again",
  "against",
  "all",
  "also",
  "am",
  "an",
  "and",
  "any",
  "are",
  "as",
  "at",
  "be",
  "because",
  "been",
  "before",
  "being",
  "below",
  "between",
  "both",
  "but",
  "by",
  "can",
  "could",
  "did",
  "do",
  "does",
  "doing",
  "down",
  "during",
  "each",
  "few",
  "for",
  "from",
  "further",
  "had",
  "has",
  "have",
  "having",
  "he",
  "her",
  "here",
  "hers",
  "herself",
  "him",
  "himself",
  "his",
  "how",
  "i",
  "if",
  "in",
  "into",
  "is",
  "it",
  "its",
  "itself",
  "just",
  "may",
  "me",
  "might",
  "more",
  "most",
  "must",
  "my",
  "myself",
  "no",
  "nor",
  "not",
  "now",
  "of",
  "off",
  "on",
  "once",
  "only",
  "or",
  "other",
  "our",
  "ours",
  "ourselves",
  "out",
  "over",
  "own",
  "same",
  "shall",
  "she",
  "should",
  "so",
  "some",
  "such",
  "than",
  "that",
  "the",
  "their",
  "theirs",
  "them",
  "themselves",
  "then",
  "there",
  "these",
  "they",
  "this",
  "those",
  "through",
  "to",
  "too",
  "under",
  "until",
  "up",
  "upon",
  "very",
  "was",
  "we",
  "were",
  "what",
  "when",
  "where",
  "which",
  "while",
  "who",
  "whom",
  "why",
  "will",
  "with",
  "would",
  "you",
  "your",
  "yours",
  "yourself",
]);

/** Lower-cased word tokens (letters, digits, inner apostrophes/hyphens split off). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** Word tokens minus stop words and one-character noise, lightly stemmed so "parties" meets "party". */
export function contentTerms(text: string): string[] {
  const terms: string[] = [];
  for (const word of words(text)) {
    if (word.length < 2 || STOP_WORDS.has(word)) continue;
    terms.push(stem(word));
  }
  return terms;
}

/**
 * A deliberately tiny suffix stripper: enough to merge plural and simple verb forms for
 * similarity and lexicon matching, without pulling in a real stemmer.
 */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith("ies") && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith("sses")) return word.slice(0, -2);
  if (word.endsWith("ss") || word.endsWith("us") || word.endsWith("is")) return word;
  if (word.endsWith("s")) return word.slice(0, -1);
  return word;
}

/**
 * Splits prose into sentences. Paragraph breaks always end a sentence (headings and list items
 * have no final period); inside a paragraph, hard-wrapped lines are joined first so a sentence
 * wrapped across lines (typical of text extracted from PDFs) stays whole.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const paragraph of text.split(/\n\s*\n|\r\n\s*\r\n/)) {
    const lines = paragraph
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line.length > 0);
    // A line that starts like a list item is its own unit even without a blank line before it.
    const units: string[] = [];
    for (const line of lines) {
      const last = units.length - 1;
      if (last >= 0 && !/^([-*•]|\d+[.)]|\(?[a-z]\))\s/i.test(line)) units[last] = `${units[last]} ${line}`;
      else units.push(line);
    }
    for (const unit of units) sentences.push(...splitUnit(unit.replace(/\s+/g, " ")));
  }
  return sentences.filter((sentence) => /[\p{L}\p{N}]/u.test(sentence));
}

function splitUnit(unit: string): string[] {
  const result: string[] = [];
  let start = 0;
  const boundary = /[.!?]+["')\]]*\s+(?=["'([]?[\p{Lu}\p{N}])/gu;
  for (let match = boundary.exec(unit); match !== null; match = boundary.exec(unit)) {
    const candidate = unit.slice(start, match.index + match[0].length).trim();
    const lastWord = /([\p{L}.]+)\.+["')\]]*$/u.exec(candidate)?.[1]?.toLowerCase() ?? "";
    // "Smith v. Jones", "Acme Inc. agrees": a known abbreviation or a single initial is not an end.
    if (NON_TERMINAL_ABBREVIATIONS.has(lastWord) || /^\p{L}$/u.test(lastWord)) continue;
    result.push(candidate);
    start = match.index + match[0].length;
  }
  const rest = unit.slice(start).trim();
  if (rest.length > 0) result.push(rest);
  return result;
}
