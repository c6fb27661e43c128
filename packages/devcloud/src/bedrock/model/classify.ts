/**
 * Keyword classifier used to fill `enum` string properties of a tool's input schema.
 *
 * Each enum label is scored against the document by (a) the words of the label itself and
 * (b) a small built-in lexicon for Quire's legal-document taxonomy. Counts are damped
 * (log) so one repeated word cannot outvote several distinct cues. Deterministic: ties go
 * to the label listed first in the schema, like a model reading the enum in order.
 */
import { STOP_WORDS, stem, words } from "./text.ts";

type WeightedTerms = ReadonlyArray<readonly [term: string, weight: number]>;

/** Cues per taxonomy label. Phrases are matched on whole (lightly stemmed) words. */
const TAXONOMY_LEXICON: Readonly<Record<string, WeightedTerms>> = {
  contract: [
    ["agreement", 2],
    ["contract", 2],
    ["party", 1.5],
    ["hereby", 1.5],
    ["hereinafter", 2],
    ["whereas", 2],
    ["in witness whereof", 3],
    ["terms and conditions", 2],
    ["indemnify", 2],
    ["indemnification", 2],
    ["governing law", 2.5],
    ["termination", 1.5],
    ["obligation", 1],
    ["covenant", 2],
    ["warranty", 1.5],
    ["warranties", 1.5],
    ["effective date", 2],
    ["licensor", 2],
    ["licensee", 2],
    ["lessor", 2],
    ["lessee", 2],
    ["breach", 1],
    ["consideration", 1],
    ["executed", 1],
    ["shall", 0.3],
    ["confidentiality", 1],
  ],
  "court-filing": [
    ["plaintiff", 3],
    ["defendant", 3],
    ["court", 2],
    ["motion", 2.5],
    ["case no", 3],
    ["docket", 2.5],
    ["district court", 3],
    ["petition", 1.5],
    ["petitioner", 2.5],
    ["respondent", 2],
    ["honorable", 1.5],
    ["judge", 1.5],
    ["counsel", 1.5],
    ["attorney for", 2],
    ["complaint", 2],
    ["filed", 1],
    ["filing", 1],
    ["jurisdiction", 1.5],
    ["memorandum of law", 3],
    ["comes now", 3],
    ["respectfully", 1.5],
    ["pursuant to rule", 2],
    ["affidavit", 2],
    ["subpoena", 2.5],
    ["hearing", 1.5],
    ["litigation", 1.5],
    ["appellant", 2.5],
    ["appellee", 2.5],
    ["order", 1],
    ["dismiss", 1.5],
    ["summary judgment", 3],
  ],
  invoice: [
    ["invoice", 3],
    ["amount due", 3],
    ["total", 1.5],
    ["subtotal", 2.5],
    ["balance due", 3],
    ["due date", 1.5],
    ["payment terms", 2],
    ["net 30", 3],
    ["bill to", 3],
    ["remit", 2],
    ["qty", 2],
    ["quantity", 1.5],
    ["unit price", 3],
    ["tax", 1],
    ["vat", 2],
    ["purchase order", 2],
    ["payable", 1],
    ["usd", 1],
    ["billed", 2],
    ["billing", 1.5],
    ["receipt", 1.5],
    ["paid", 1],
    ["payment", 1],
  ],
  correspondence: [
    ["dear", 3],
    ["sincerely", 3],
    ["regards", 2.5],
    ["yours truly", 3],
    ["yours faithfully", 3],
    ["i am writing", 3],
    ["writing to", 1.5],
    ["letter", 1.5],
    ["please find", 1.5],
    ["thank you for", 1.5],
    ["look forward", 2],
    ["enclosed", 1.5],
    ["cc", 1],
    ["to whom it may concern", 3],
    ["memo", 1],
    ["hi", 1],
    ["best wishes", 2],
    ["kind regards", 1],
  ],
  policy: [
    ["policy", 3],
    ["employees must", 3],
    ["employee", 1.5],
    ["compliance", 2.5],
    ["code of conduct", 3],
    ["procedure", 2],
    ["must not", 1],
    ["are required to", 2],
    ["is prohibited", 2],
    ["prohibited", 1.5],
    ["guideline", 2],
    ["handbook", 2.5],
    ["this policy applies", 3],
    ["scope", 1],
    ["purpose", 1],
    ["violation", 1.5],
    ["disciplinary action", 3],
    ["responsibilities", 1],
    ["staff", 1],
    ["all employees", 2.5],
  ],
};

/** Labels that mean "none of the above": chosen when no label has any evidence. */
const FALLBACK_LABELS = new Set(["other", "unknown", "misc", "miscellaneous", "unclassified", "none", "general"]);
const LABEL_WORD_WEIGHT = 1.5;

export interface LabelScore {
  readonly label: string;
  readonly score: number;
  /** Cue terms that matched, strongest first, for a rationale field. */
  readonly matchedTerms: readonly string[];
}

export interface Classification {
  readonly label: string;
  /** In [0, 1]: higher when the winner has strong evidence and a clear margin. */
  readonly confidence: number;
  readonly scores: readonly LabelScore[];
  readonly matchedTerms: readonly string[];
}

export function normalizeLabel(label: string): string {
  return label
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, "-");
}

function stemmedPhrase(text: string): string {
  return words(text).map(stem).join(" ");
}

function countPhrase(haystack: string, phrase: string): number {
  if (phrase.length === 0) return 0;
  const needle = ` ${phrase} `;
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length - 1)) count++;
  return count;
}

function cuesFor(label: string): WeightedTerms {
  const key = normalizeLabel(label);
  const cues = new Map<string, number>(TAXONOMY_LEXICON[key] ?? []);
  for (const word of words(label)) {
    if (word.length < 2 || STOP_WORDS.has(word)) continue;
    cues.set(word, Math.max(cues.get(word) ?? 0, LABEL_WORD_WEIGHT));
  }
  return [...cues];
}

/**
 * Drops lines that list two or more of the labels: those are the prompt's instructions
 * ("classify as contract, invoice or policy"), not evidence about the document.
 */
function withoutLabelListings(text: string, labels: readonly string[]): string {
  const labelPhrases = labels.map(stemmedPhrase).filter((phrase) => phrase.length > 0);
  return text
    .split(/\r?\n/)
    .filter((line) => {
      const haystack = ` ${stemmedPhrase(line)} `;
      return labelPhrases.filter((phrase) => countPhrase(haystack, phrase) > 0).length < 2;
    })
    .join("\n");
}

export function scoreLabels(documentText: string, labels: readonly string[]): LabelScore[] {
  const haystack = ` ${stemmedPhrase(withoutLabelListings(documentText, labels))} `;
  return labels.map((label) => {
    let score = 0;
    const matched: Array<[string, number]> = [];
    for (const [term, weight] of cuesFor(label)) {
      const count = countPhrase(haystack, stemmedPhrase(term));
      if (count === 0) continue;
      const contribution = weight * Math.log2(1 + count);
      score += contribution;
      matched.push([term, contribution]);
    }
    matched.sort((a, b) => b[1] - a[1]);
    return { label, score, matchedTerms: matched.map(([term]) => term) };
  });
}

export function classify(documentText: string, labels: readonly string[]): Classification {
  if (labels.length === 0) throw new Error("classify needs at least one label");
  const scores = scoreLabels(documentText, labels);
  let best: LabelScore | undefined;
  for (const candidate of scores) if (best === undefined || candidate.score > best.score) best = candidate;
  const total = scores.reduce((sum, entry) => sum + entry.score, 0);
  const fallback = labels.find((label) => FALLBACK_LABELS.has(normalizeLabel(label)));
  if (best === undefined || best.score === 0) {
    const label = fallback ?? labels[0] ?? "";
    return { label, confidence: 0.3, scores, matchedTerms: [] };
  }
  // Share of the evidence times how much evidence there is: a lone weak cue is not a sure call.
  const share = best.score / total;
  const strength = 1 - Math.exp(-best.score / 4);
  const confidence = Math.round(Math.min(0.99, Math.max(0.05, 0.35 + 0.6 * share * strength)) * 100) / 100;
  return { label: best.label, confidence, scores, matchedTerms: best.matchedTerms };
}
