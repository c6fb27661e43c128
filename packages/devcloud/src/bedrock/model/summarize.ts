/**
 * Extractive summarizer: ranks sentences with TextRank over TF-IDF cosine similarity and returns
 * the best ones in document order. Pure and deterministic (no randomness, ties broken by
 * position), so the same document always yields the same summary — which is what tests and
 * benchmark baselines need from a stand-in for a real model.
 */
import { contentTerms, splitSentences } from "./text.ts";

/** Above this many sentences the O(n²) similarity graph gets slow; rank by centroid similarity instead. */
const TEXTRANK_MAX_SENTENCES = 300;
const DAMPING = 0.85;
const ITERATIONS = 40;

export interface ExtractiveSummary {
  /** Chosen sentences, in the order they appear in the document. */
  readonly sentences: readonly string[];
  readonly text: string;
  /** How many sentences the document had, for callers that report coverage. */
  readonly sourceSentenceCount: number;
}

export interface SummarizeOptions {
  /** Exact number of sentences wanted (e.g. the prompt said "in 3 sentences"); otherwise scaled to length. */
  readonly sentenceCount?: number | undefined;
}

/** Roughly a fifth of the document, at least one sentence and at most eight: a readable abstract. */
export function defaultSentenceCount(sourceSentenceCount: number): number {
  return Math.max(1, Math.min(8, Math.ceil(sourceSentenceCount / 5)));
}

export function summarize(documentText: string, options: SummarizeOptions = {}): ExtractiveSummary {
  const sentences = splitSentences(documentText);
  if (sentences.length === 0) return { sentences: [], text: "", sourceSentenceCount: 0 };
  const wanted = Math.max(
    1,
    Math.min(sentences.length, options.sentenceCount ?? defaultSentenceCount(sentences.length)),
  );
  const scores = rankSentences(sentences);
  const chosenIndexes = sentences
    .map((_, index) => index)
    .sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || a - b)
    .slice(0, wanted)
    .sort((a, b) => a - b);
  const chosen = chosenIndexes.map((index) => sentences[index] ?? "");
  return { sentences: chosen, text: chosen.join(" "), sourceSentenceCount: sentences.length };
}

/** A salience score per sentence (higher is more central); same length as `sentences`. */
export function rankSentences(sentences: readonly string[]): number[] {
  const vectors = tfIdfVectors(sentences.map((sentence) => contentTerms(sentence)));
  const centrality = sentences.length <= TEXTRANK_MAX_SENTENCES ? textRank(vectors) : centroidSimilarity(vectors);
  return centrality.map((score, index) => {
    const termCount = vectors[index]?.size ?? 0;
    // Fragments ("Page 2", "Dear Sir,") carry little content even when they share words.
    const lengthFactor = termCount < 3 ? 0.5 : 1;
    // Documents front-load their point; a slight lead bias also makes ties fall to the opening.
    const leadBias = 1 + 0.2 / (1 + index);
    return score * lengthFactor * leadBias;
  });
}

type SparseVector = Map<string, number>;

function tfIdfVectors(termLists: readonly string[][]): SparseVector[] {
  const documentFrequency = new Map<string, number>();
  for (const terms of termLists) {
    for (const term of new Set(terms)) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const count = termLists.length;
  return termLists.map((terms) => {
    const vector: SparseVector = new Map();
    for (const term of terms) vector.set(term, (vector.get(term) ?? 0) + 1);
    for (const [term, frequency] of vector) {
      const idf = Math.log((1 + count) / (1 + (documentFrequency.get(term) ?? 0))) + 1;
      vector.set(term, frequency * idf);
    }
    return vector;
  });
}

function norm(vector: SparseVector): number {
  let sum = 0;
  for (const value of vector.values()) sum += value * value;
  return Math.sqrt(sum);
}

function cosine(a: SparseVector, b: SparseVector, normA: number, normB: number): number {
  if (normA === 0 || normB === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let dot = 0;
  for (const [term, value] of small) dot += value * (large.get(term) ?? 0);
  return dot / (normA * normB);
}

function textRank(vectors: readonly SparseVector[]): number[] {
  const count = vectors.length;
  const norms = vectors.map(norm);
  const weights: number[][] = vectors.map(() => new Array<number>(count).fill(0));
  const outgoing = new Array<number>(count).fill(0);
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      const similarity = cosine(vectors[i] ?? new Map(), vectors[j] ?? new Map(), norms[i] ?? 0, norms[j] ?? 0);
      if (similarity === 0) continue;
      (weights[i] ?? [])[j] = similarity;
      (weights[j] ?? [])[i] = similarity;
      outgoing[i] = (outgoing[i] ?? 0) + similarity;
      outgoing[j] = (outgoing[j] ?? 0) + similarity;
    }
  }
  let scores = new Array<number>(count).fill(1 / count);
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    const next = new Array<number>(count).fill((1 - DAMPING) / count);
    for (let j = 0; j < count; j++) {
      const out = outgoing[j] ?? 0;
      if (out === 0) continue;
      const share = (DAMPING * (scores[j] ?? 0)) / out;
      const row = weights[j] ?? [];
      for (let i = 0; i < count; i++) {
        const weight = row[i] ?? 0;
        if (weight !== 0) next[i] = (next[i] ?? 0) + weight * share;
      }
    }
    scores = next;
  }
  return scores;
}

function centroidSimilarity(vectors: readonly SparseVector[]): number[] {
  const centroid: SparseVector = new Map();
  for (const vector of vectors) {
    for (const [term, value] of vector) centroid.set(term, (centroid.get(term) ?? 0) + value);
  }
  const centroidNorm = norm(centroid);
  return vectors.map((vector) => cosine(vector, centroid, norm(vector), centroidNorm));
}
