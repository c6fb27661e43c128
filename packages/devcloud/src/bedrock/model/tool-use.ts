/**
 * Fills a tool's input from its JSON Schema using what the local model "read" in the document:
 * enum strings are classified, confidence-like numbers come from that classification, summary-
 * and rationale-like strings are extracted text, everything else gets the simplest valid value.
 * The goal is input that a schema validator (and the calling service's zod parser) accepts.
 */
import { classify, type Classification } from "./classify.ts";
import {
  isRecord,
  numberKeyword,
  properties,
  requiredNames,
  resolveRef,
  schemaTypes,
  subschemas,
  type JsonSchema,
  type JsonValue,
} from "./json-schema.ts";
import { summarize } from "./summarize.ts";
import { STOP_WORDS, splitSentences, words } from "./text.ts";

/** What the generator knows about the request; derived values are computed once, on demand. */
export class DocumentReading {
  readonly documentText: string;
  #summary: string | undefined;
  #keywords: string[] | undefined;
  #entities: string[] | undefined;
  #entityCursor = 0;
  readonly #classifications = new Map<string, Classification>();
  /** The most recent enum decision, so a sibling "confidence"/"reason" field can describe it. */
  lastClassification: Classification | undefined;

  constructor(documentText: string) {
    this.documentText = documentText;
  }

  summary(): string {
    this.#summary ??= summarize(this.documentText).text;
    return this.#summary;
  }

  /** The single most representative sentence: a default for free-text fields. */
  leadSentence(): string {
    return summarize(this.documentText, { sentenceCount: 1 }).sentences[0] ?? "";
  }

  /** Named entities in order of appearance; successive calls walk the list (for arrays of names). */
  nextEntity(): string {
    this.#entities ??= namedEntities(this.documentText);
    const entity = this.#entities[this.#entityCursor % Math.max(1, this.#entities.length)] ?? "Unknown";
    this.#entityCursor++;
    return entity;
  }

  sentences(): string[] {
    return summarize(this.documentText, { sentenceCount: 5 }).sentences.slice();
  }

  keywords(): string[] {
    this.#keywords ??= topKeywords(this.documentText, 10);
    return this.#keywords;
  }

  classify(labels: readonly string[]): Classification {
    const key = JSON.stringify(labels);
    let result = this.#classifications.get(key);
    if (result === undefined) {
      result = classify(this.documentText, labels);
      this.#classifications.set(key, result);
    }
    this.lastClassification = result;
    return result;
  }
}

/** Most frequent non-stop-words, ties broken by first appearance. */
export function topKeywords(text: string, limit: number): string[] {
  const counts = new Map<string, number>();
  for (const word of words(text)) {
    if (word.length < 3 || STOP_WORDS.has(word) || /^\d+$/.test(word)) continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([word, count], order) => ({ word, count, order }))
    .sort((a, b) => b.count - a.count || a.order - b.order)
    .slice(0, limit)
    .map((entry) => entry.word);
}

const FORM_WORDS = new Set([
  "Effective",
  "Date",
  "Total",
  "Amount",
  "Due",
  "Invoice",
  "Payment",
  "Terms",
  "Case",
  "No",
  "Page",
  "Section",
  "Exhibit",
]);
const NOT_NAME_STARTS = new Set([
  "Dear",
  "The",
  "This",
  "That",
  "These",
  "Those",
  "In",
  "On",
  "Please",
  "Whereas",
  "If",
  "Each",
  "All",
  "Case",
  "Page",
]);

/**
 * Capitalised multi-word sequences ("Jane Doe", "Acme Corp.", "Riverside Legal LLP"): a cheap
 * stand-in for named-entity recognition, good enough to fill "name"/"party" fields plausibly.
 */
export function namedEntities(text: string): string[] {
  // A period only continues a name after an abbreviation or initial, never at a sentence end.
  const token = String.raw`(?:(?:Mr|Mrs|Ms|Dr|St|Corp|Inc|Ltd|Co)\.|[A-Z]\.|LLC|LLP|Inc|Corp|Ltd|[A-Z][a-z][\w'&-]*)`;
  const sequence = new RegExp(String.raw`\b${token}(?:\s+${token})+`, "g");
  const found: string[] = [];
  for (const match of text.matchAll(sequence)) {
    const parts = match[0].split(/\s+/);
    while (parts.length > 0 && NOT_NAME_STARTS.has((parts[0] ?? "").replace(/\.$/, ""))) parts.shift();
    const joined = parts.join(" ").replace(/,$/, "");
    // Keep the period of "Acme Corp." but not a sentence-final one ("... with Widget Holdings.").
    const entity = /\b(Corp|Inc|Ltd|Co|N\.A)\.$/.test(joined) ? joined : joined.replace(/\.$/, "");
    // "Bill To", "Effective Date": capitalised labels, not names.
    const isLabel =
      parts.some((part) => STOP_WORDS.has(part.toLowerCase())) || parts.every((part) => FORM_WORDS.has(part));
    if (parts.length >= 2 && !isLabel && !found.includes(entity)) found.push(entity);
  }
  return found;
}

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

/** The first date the document mentions, as YYYY-MM-DD (ISO or "March 3, 2024" style). */
export function firstDate(text: string): string | undefined {
  const iso = /\b(\d{4})-(\d{2})-(\d{2})\b/.exec(text);
  const named =
    /\b(january|february|march|april|may|june|july|august|september|october|november|december)\s+(\d{1,2}),?\s+(\d{4})\b/i.exec(
      text,
    );
  const candidates: Array<{ index: number; value: string }> = [];
  if (iso) candidates.push({ index: iso.index, value: `${iso[1]}-${iso[2]}-${iso[3]}` });
  if (named) {
    const month = MONTHS.indexOf((named[1] ?? "").toLowerCase()) + 1;
    const value = `${named[3]}-${String(month).padStart(2, "0")}-${(named[2] ?? "1").padStart(2, "0")}`;
    candidates.push({ index: named.index, value });
  }
  candidates.sort((a, b) => a.index - b.index);
  return candidates[0]?.value;
}

const MAX_DEPTH = 12;

export function generateToolInput(schema: JsonSchema, reading: DocumentReading): JsonValue {
  return generateValue(schema, schema, reading, "input", 0);
}

function generateValue(
  rawSchema: JsonSchema,
  root: JsonSchema,
  reading: DocumentReading,
  name: string,
  depth: number,
): JsonValue {
  const schema = mergeAllOf(resolveRef(rawSchema, root), root);
  if ("const" in schema) return schema.const as JsonValue;
  const enumValues = schema.enum;
  if (Array.isArray(enumValues) && enumValues.length > 0) return chooseEnum(enumValues as JsonValue[], reading);
  const branches = [...subschemas(schema, "anyOf"), ...subschemas(schema, "oneOf")];
  if (branches.length > 0) {
    // A nullable field is written "anyOf: [X, {type: null}]"; a model fills it with an X.
    const preferred =
      branches.find((branch) => !schemaTypes(resolveRef(branch, root)).includes("null")) ?? branches[0] ?? {};
    return generateValue(preferred, root, reading, name, depth);
  }
  const types = schemaTypes(schema);
  const type = types.find((candidate) => candidate !== "null") ?? types[0] ?? inferType(schema);
  if (depth > MAX_DEPTH) return type === "null" ? null : emptyOf(type);
  switch (type) {
    case "object":
      return generateObject(schema, root, reading, depth);
    case "array":
      return generateArray(schema, root, reading, name, depth);
    case "number":
      return generateNumber(schema, name, reading, false);
    case "integer":
      return generateNumber(schema, name, reading, true);
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return generateString(schema, name, reading);
  }
}

function inferType(schema: JsonSchema): string {
  if (isRecord(schema.properties) || Array.isArray(schema.required)) return "object";
  if (isRecord(schema.items)) return "array";
  return "string";
}

function emptyOf(type: string): JsonValue {
  if (type === "object") return {};
  if (type === "array") return [];
  if (type === "number" || type === "integer") return 0;
  if (type === "boolean") return false;
  return "";
}

/** Folds `allOf` object parts into one schema so their properties and requirements all apply. */
function mergeAllOf(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const parts = subschemas(schema, "allOf");
  if (parts.length === 0) return schema;
  const merged: Record<string, unknown> = { ...schema };
  delete merged.allOf;
  const mergedProperties: Record<string, unknown> = isRecord(schema.properties) ? { ...schema.properties } : {};
  const mergedRequired = new Set(requiredNames(schema));
  for (const part of parts.map((entry) => mergeAllOf(resolveRef(entry, root), root))) {
    for (const [key, value] of Object.entries(part)) {
      if (key !== "properties" && key !== "required" && !(key in merged)) merged[key] = value;
    }
    for (const [key, value] of properties(part)) mergedProperties[key] = value;
    for (const key of requiredNames(part)) mergedRequired.add(key);
  }
  merged.properties = mergedProperties;
  merged.required = [...mergedRequired];
  return merged;
}

function chooseEnum(values: readonly JsonValue[], reading: DocumentReading): JsonValue {
  const labels = values.filter((value): value is string => typeof value === "string");
  if (labels.length === 0) return values[0] ?? null;
  return reading.classify(labels).label;
}

function isEnumString(schema: JsonSchema, root: JsonSchema): boolean {
  const resolved = resolveRef(schema, root);
  const values = resolved.enum;
  return Array.isArray(values) && values.some((value) => typeof value === "string");
}

function generateObject(schema: JsonSchema, root: JsonSchema, reading: DocumentReading, depth: number): JsonValue {
  const declared = properties(schema);
  const declaredNames = new Set(declared.map(([name]) => name));
  // Required names without a declared schema accept anything; a string is the plainest choice.
  const undeclaredRequired = requiredNames(schema).filter((name) => !declaredNames.has(name));
  const entries: Array<[string, JsonSchema]> = [
    ...declared,
    ...undeclaredRequired.map((name): [string, JsonSchema] => [name, {}]),
  ];
  // Decide enum fields first so confidence/rationale siblings can describe that decision,
  // but emit keys in schema order, as a model filling the object top to bottom would.
  const values = new Map<string, JsonValue>();
  const ordered = [...entries].sort((a, b) => Number(isEnumString(b[1], root)) - Number(isEnumString(a[1], root)));
  for (const [name, propertySchema] of ordered)
    values.set(name, generateValue(propertySchema, root, reading, name, depth + 1));
  const result: { [key: string]: JsonValue } = {};
  for (const [name] of entries) result[name] = values.get(name) ?? null;
  return result;
}

function generateArray(
  schema: JsonSchema,
  root: JsonSchema,
  reading: DocumentReading,
  name: string,
  depth: number,
): JsonValue {
  const itemSchema = isRecord(schema.items) ? mergeAllOf(resolveRef(schema.items, root), root) : {};
  const minItems = Math.max(0, numberKeyword(schema, "minItems") ?? 0);
  const maxItems = numberKeyword(schema, "maxItems") ?? Number.POSITIVE_INFINITY;
  const clampCount = (natural: number) => Math.max(minItems, Math.min(maxItems, natural));
  const itemEnum = itemSchema.enum;
  let items: JsonValue[];
  if (Array.isArray(itemEnum) && itemEnum.some((value) => typeof value === "string")) {
    // Multi-label: every label with evidence, best first; at least the single best label.
    const labels = itemEnum.filter((value): value is string => typeof value === "string");
    const classification = reading.classify(labels);
    const withEvidence = [...classification.scores]
      .filter((entry) => entry.score > 0)
      .sort((a, b) => b.score - a.score)
      .map((entry) => entry.label);
    const ranked = [...new Set([classification.label, ...withEvidence, ...labels])];
    items = ranked.slice(0, clampCount(Math.max(1, withEvidence.length)));
  } else if (schemaTypes(itemSchema).includes("string") && /keyword|tag|topic|term|entit/i.test(name)) {
    items = reading.keywords().slice(0, clampCount(5));
  } else if (
    schemaTypes(itemSchema).includes("string") &&
    /point|highlight|bullet|sentence|finding|summar/i.test(name)
  ) {
    items = reading.sentences().slice(0, clampCount(3));
  } else {
    items = [];
    const count = clampCount(1);
    for (let index = 0; index < count; index++)
      items.push(generateValue(itemSchema, root, reading, singular(name), depth + 1));
  }
  while (items.length < minItems) items.push(generateValue(itemSchema, root, reading, singular(name), depth + 1));
  if (schema.uniqueItems === true) items = makeUnique(items, itemSchema);
  return items;
}

function singular(name: string): string {
  return name.endsWith("s") ? name.slice(0, -1) : name;
}

/** Drops duplicates; where that would break minItems for plain strings, numbers them instead. */
function makeUnique(items: JsonValue[], itemSchema: JsonSchema): JsonValue[] {
  const seen = new Set<string>();
  const unique: JsonValue[] = [];
  items.forEach((item, index) => {
    let candidate = item;
    if (seen.has(JSON.stringify(candidate)) && typeof candidate === "string" && itemSchema.enum === undefined)
      candidate = `${candidate} ${index + 1}`;
    if (seen.has(JSON.stringify(candidate)) && typeof candidate === "number" && itemSchema.enum === undefined)
      candidate = candidate + index;
    if (seen.has(JSON.stringify(candidate))) return;
    seen.add(JSON.stringify(candidate));
    unique.push(candidate);
  });
  return unique;
}

const CONFIDENCE_NAME = /confidence|probability|certainty|likelihood|score/i;

function generateNumber(schema: JsonSchema, name: string, reading: DocumentReading, integer: boolean): number {
  const minimum = numberKeyword(schema, "minimum");
  const maximum = numberKeyword(schema, "maximum");
  const exclusiveMinimum = numberKeyword(schema, "exclusiveMinimum");
  const exclusiveMaximum = numberKeyword(schema, "exclusiveMaximum");
  const step = integer ? 1 : 0.01;
  const low = minimum ?? (exclusiveMinimum !== undefined ? exclusiveMinimum + step : undefined);
  const high = maximum ?? (exclusiveMaximum !== undefined ? exclusiveMaximum - step : undefined);
  let value: number;
  if (CONFIDENCE_NAME.test(name)) {
    const confidence = reading.lastClassification?.confidence ?? 0.5;
    // Same judgement on whatever scale the schema uses: [0,1], [0,100], [1,5]...
    const scaleLow = low ?? 0;
    const scaleHigh = high ?? (scaleLow < 1 ? 1 : scaleLow + 1);
    value = scaleLow + confidence * (scaleHigh - scaleLow);
  } else if (/count|number|total|length/i.test(name)) {
    value = /sentence/i.test(name) ? splitSentences(reading.documentText).length : words(reading.documentText).length;
  } else {
    value = low ?? 0;
  }
  if (low !== undefined) value = Math.max(low, value);
  if (high !== undefined) value = Math.min(high, value);
  value = integer ? Math.round(value) : Math.round(value * 1000) / 1000;
  if (integer && low !== undefined && value < low) value = Math.ceil(low);
  if (integer && high !== undefined && value > high) value = Math.floor(high);
  const multipleOf = numberKeyword(schema, "multipleOf");
  if (multipleOf !== undefined && multipleOf > 0) {
    const snapped = Math.ceil(value / multipleOf - 1e-9) * multipleOf;
    value = high !== undefined && snapped > high ? Math.floor(value / multipleOf + 1e-9) * multipleOf : snapped;
    value = Number(value.toFixed(10));
  }
  return value;
}

function generateString(schema: JsonSchema, name: string, reading: DocumentReading): string {
  const format = typeof schema.format === "string" ? schema.format : "";
  let value: string;
  if (format === "date-time") value = `${firstDate(reading.documentText) ?? "1970-01-01"}T00:00:00Z`;
  else if (format === "date" || /date/i.test(name)) value = firstDate(reading.documentText) ?? "1970-01-01";
  else if (format === "email" || /email/i.test(name))
    value = /[\w.+-]+@[\w-]+\.[\w.-]+/.exec(reading.documentText)?.[0] ?? "noreply@example.com";
  else if (format === "uri" || format === "url" || /url|uri|link/i.test(name)) value = "https://example.com/";
  else if (format === "uuid") value = "00000000-0000-4000-8000-000000000000";
  else if (/summary|abstract|synopsis|description/i.test(name)) value = reading.summary();
  else if (/reason|rationale|explanation|justification|evidence/i.test(name)) value = rationale(reading);
  else if (/title|subject|heading|headline/i.test(name))
    value = (splitSentences(reading.documentText)[0] ?? "Untitled").slice(0, 80);
  else if (/^(language|lang|locale)$/i.test(name)) value = "en";
  else if (/keyword|tag|topic/i.test(name)) value = reading.keywords()[0] ?? "document";
  else if (
    /name|part(y|ies)|person|organi[sz]ation|company|entity|author|sender|recipient|client|vendor|court/i.test(name)
  )
    value = reading.nextEntity();
  else value = reading.leadSentence();
  const minLength = numberKeyword(schema, "minLength") ?? 0;
  const maxLength = numberKeyword(schema, "maxLength");
  if (value.length < minLength) value = value.padEnd(minLength, value.length > 0 ? "." : "x");
  if (maxLength !== undefined && [...value].length > maxLength) value = [...value].slice(0, maxLength).join("");
  return value;
}

function rationale(reading: DocumentReading): string {
  const decision = reading.lastClassification;
  if (decision === undefined) return reading.leadSentence();
  if (decision.matchedTerms.length === 0) return `No distinctive cues found; classified as "${decision.label}".`;
  return `Classified as "${decision.label}" based on: ${decision.matchedTerms.slice(0, 5).join(", ")}.`;
}
