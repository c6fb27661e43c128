/**
 * Turns pattern JSON into sub-rules (one per `$or` branch combination), each a map from dotted
 * field path to the value patterns any of which may match there.
 *
 * This follows event-ruler's Machine.addRule: the current compiler (`$or` aware) runs first; if it
 * rejects the pattern with a parse error, the legacy compiler (no `$or`, fewer anything-but forms)
 * gets a go, and its verdict is final. So `$or` misused as an ordinary field name still compiles,
 * and a pattern rejected by both is reported with the legacy compiler's message. The compilers read
 * a token stream and validate as they go, so the first problem in document order is the one reported.
 */
import { JsonParseError, JsonTokenizer, type JsonToken } from "./json-tokens.ts";
import {
  compareComparableNumbers,
  NotComparableNumberError,
  requireComparableNumber,
  toComparableNumber,
} from "./comparable-number.ts";
import { InvalidCidrError, ipLiteralToRange, parseCidr } from "./ip-address.ts";
import { asJavaUtf8Text, InvalidWildcardError, parseCaseInsensitive, parseWildcard } from "./string-matchers.ts";
import type { NumericBound, ValuePattern } from "./value-patterns.ts";

export type SubRule = Map<string, ValuePattern[]>;

/** The Java exception event-ruler would throw; only JsonParseException lets the legacy compiler retry. */
export type RulerExceptionType = "JsonParseException" | "IllegalArgumentException";

export class PatternCompileError extends Error {
  override readonly name = "PatternCompileError";
  readonly rulerExceptionType: RulerExceptionType;

  constructor(rulerExceptionType: RulerExceptionType, message: string) {
    super(message);
    this.rulerExceptionType = rulerExceptionType;
  }
}

type CompilerGeneration = "current" | "legacy";

const OR_KEYWORD = "$or";

/** Operator names that cannot be field names inside `$or`, so a misplaced operator is caught there. */
const RESERVED_FIELD_NAMES_IN_OR = new Set([
  "exactly",
  "equals-ignore-case",
  "prefix",
  "suffix",
  "anything-but",
  "exists",
  "wildcard",
  "numeric",
  "cidr",
  "=",
  "<",
  "<=",
  ">",
  ">=",
  "regex",
  "not-wildcard",
  "not-equals-ignore-case",
  "date-after",
  "date-on-or-after",
  "date-before",
  "date-on-or-before",
  "in-date-range",
  "ip-address-in-range",
  "ip-address-not-in-range",
]);

export function compileSubRules(patternText: string): SubRule[] {
  try {
    return new RuleCompiler(patternText, "current").compile();
  } catch (error) {
    const failure = asCompileError(error);
    if (failure.rulerExceptionType !== "JsonParseException") throw failure;
  }
  try {
    return new RuleCompiler(patternText, "legacy").compile();
  } catch (error) {
    throw asCompileError(error);
  }
}

function asCompileError(error: unknown): PatternCompileError {
  if (error instanceof PatternCompileError) return error;
  if (error instanceof JsonParseError) return new PatternCompileError("JsonParseException", error.message);
  if (error instanceof NotComparableNumberError || error instanceof InvalidCidrError) {
    return new PatternCompileError("IllegalArgumentException", error.message);
  }
  throw error;
}

function barf(message: string): never {
  throw new PatternCompileError("JsonParseException", message);
}

function isNumberToken(token: JsonToken | null): boolean {
  return token === "int" || token === "float";
}

/** Path of object keys joined with ".", as event-ruler names fields. */
function extendName(path: readonly string[], step: string): string {
  return path.length === 0 ? step : `${path.join(".")}.${step}`;
}

class RuleCompiler {
  private readonly tokens: JsonTokenizer;
  private readonly generation: CompilerGeneration;

  constructor(patternText: string, generation: CompilerGeneration) {
    this.tokens = new JsonTokenizer(patternText);
    this.generation = generation;
  }

  compile(): SubRule[] {
    const rules: SubRule[] = [];
    if (this.tokens.next() !== "startObject") barf("Filter is not an object");
    this.parseObject(rules, [], false);
    // Like event-ruler, nothing after the closing brace is read.
    return rules;
  }

  private parseObject(rules: SubRule[], path: string[], insideOr: boolean): void {
    const tokens = this.tokens;
    let fieldsPresent = false;
    while (tokens.next() !== "endObject") {
      fieldsPresent = true;
      const stepName = tokens.fieldName;
      if (this.generation === "current") {
        if (stepName === OR_KEYWORD) {
          this.parseOrRelationship(rules, path);
          continue;
        }
        if (insideOr && RESERVED_FIELD_NAMES_IN_OR.has(stepName)) {
          barf(`${stepName} is Ruler reserved fieldName which cannot be used inside ${OR_KEYWORD}.`);
        }
      }
      const valueToken = tokens.next();
      if (valueToken === "startObject") {
        path.push(stepName);
        this.parseObject(rules, path, insideOr);
        path.pop();
      } else if (valueToken === "startArray") {
        this.writeRules(rules, extendName(path, stepName));
      } else {
        barf(`"${stepName}" must be an object or an array`);
      }
    }
    if (!fieldsPresent) barf("Empty objects are not allowed");
  }

  /** Each `$or` branch forks a copy of every sub-rule built so far. */
  private parseOrRelationship(rules: SubRule[], path: string[]): void {
    const rulesBefore = rules.map((rule) => new Map(rule));
    rules.length = 0;
    if (this.tokens.next() !== "startArray") barf(`It must be an Array followed with ${OR_KEYWORD}.`);
    let branches = 0;
    for (let token = this.tokens.next(); token !== "endArray"; token = this.tokens.next()) {
      branches++;
      if (token !== "startObject") barf(`Only JSON object is allowed in array of ${OR_KEYWORD} relationship.`);
      const branchRules = rulesBefore.map((rule) => new Map(rule));
      if (branchRules.length === 0) branchRules.push(new Map());
      this.parseObject(branchRules, path, true);
      rules.push(...branchRules);
    }
    if (branches < 2) barf(`There must have at least 2 Objects in ${OR_KEYWORD} relationship.`);
  }

  private writeRules(rules: SubRule[], name: string): void {
    const tokens = this.tokens;
    const values: ValuePattern[] = [];
    for (let token = tokens.next(); token !== "endArray"; token = tokens.next()) {
      switch (token) {
        case "startObject":
          values.push(this.processMatchExpression());
          break;
        case "string": {
          const text = asJavaUtf8Text(tokens.text);
          // An IP-address-shaped string matches that address however the event writes it.
          const range = ipLiteralToRange(text);
          values.push(range === null ? { kind: "exactString", value: text } : { kind: "ipRange", range });
          break;
        }
        case "int":
        case "float": {
          const comparable = toComparableNumber(tokens.text);
          if (comparable !== null) values.push({ kind: "numericEquals", value: comparable });
          values.push({ kind: "exactLiteral", text: tokens.text });
          break;
        }
        case "true":
        case "false":
        case "null":
          values.push({ kind: "exactLiteral", text: tokens.text });
          break;
        default:
          barf("Match value must be String, number, true, false, or null");
      }
    }
    if (values.length === 0) barf("Empty arrays are not allowed");
    if (rules.length === 0) rules.push(new Map());
    // A repeated path replaces the earlier one (event-ruler's default "rule overriding").
    for (const rule of rules) rule.set(name, values);
  }

  private expectObjectEnd(message = "Only one key allowed in match expression"): void {
    if (this.tokens.next() !== "endObject") barf(message);
  }

  private tooManyElements(): never {
    barf("Too many elements in numeric expression");
  }

  private processMatchExpression(): ValuePattern {
    const tokens = this.tokens;
    if (tokens.next() !== "fieldName") barf("Match expression name not found");
    const matchType = tokens.fieldName;
    switch (matchType) {
      case "exactly": {
        if (tokens.next() !== "string") barf("exact match pattern must be a string");
        const pattern: ValuePattern = { kind: "exactString", value: asJavaUtf8Text(tokens.text) };
        this.expectObjectEnd();
        return pattern;
      }
      case "prefix":
      case "suffix": {
        const token = tokens.next();
        if (token === "startObject") return this.processAffixIgnoreCase(matchType);
        if (token !== "string") barf(`${matchType} match pattern must be a string`);
        const value = asJavaUtf8Text(tokens.text);
        this.expectObjectEnd();
        return matchType === "prefix" ? { kind: "prefix", value } : { kind: "suffix", value };
      }
      case "numeric": {
        if (tokens.next() !== "startArray") barf("Value of numeric must be an array.");
        const range = this.processNumericExpression();
        if (tokens.next() !== "endObject") this.tooManyElements();
        return range;
      }
      case "anything-but":
        return this.generation === "current" ? this.processAnythingBut() : this.processLegacyAnythingBut();
      case "exists": {
        const token = tokens.next();
        if (token !== "true" && token !== "false") barf("exists match pattern must be either true or false.");
        this.expectObjectEnd();
        return { kind: token === "true" ? "exists" : "absent" };
      }
      case "cidr": {
        if (tokens.next() !== "string") barf("prefix match pattern must be a string");
        const range = parseCidr(tokens.text);
        this.expectObjectEnd();
        return { kind: "ipRange", range };
      }
      case "equals-ignore-case": {
        if (tokens.next() !== "string") barf("equals-ignore-case match pattern must be a string");
        const pattern = parseCaseInsensitive(tokens.text);
        this.expectObjectEnd();
        return { kind: "equalsIgnoreCase", pattern };
      }
      case "wildcard": {
        if (tokens.next() !== "string") barf("wildcard match pattern must be a string");
        const pattern = parseWildcardOrBarf(tokens.text);
        this.expectObjectEnd();
        return { kind: "wildcard", pattern };
      }
      default:
        barf(`Unrecognized match type ${matchType}`);
    }
  }

  /** `{"prefix": {"equals-ignore-case": "..."}}` and the suffix equivalent. */
  private processAffixIgnoreCase(affix: "prefix" | "suffix"): ValuePattern {
    const tokens = this.tokens;
    const capitalized = affix === "prefix" ? "Prefix" : "Suffix";
    if (tokens.next() !== "fieldName") barf(`${capitalized} expression name not found`);
    const operator = tokens.fieldName;
    if (operator !== "equals-ignore-case") barf(`Unsupported ${affix} pattern: ${operator}`);
    if (tokens.next() !== "string") barf("equals-ignore-case match pattern must be a string");
    const pattern = parseCaseInsensitive(tokens.text);
    this.expectObjectEnd();
    this.expectObjectEnd();
    return affix === "prefix" ? { kind: "prefixIgnoreCase", pattern } : { kind: "suffixIgnoreCase", pattern };
  }

  private processNumericExpression(): ValuePattern {
    const tokens = this.tokens;
    if (tokens.next() !== "string") barf(`Invalid member in numeric match: ${tokens.text}`);
    const operator = tokens.text;
    const token = tokens.next();
    try {
      switch (operator) {
        case "=": {
          if (!isNumberToken(token)) barf("Value of equals must be numeric");
          const valueText = tokens.text;
          if (tokens.next() !== "endArray") this.tooManyElements();
          return { kind: "numericEquals", value: requireComparableNumber(valueText) };
        }
        case ">=":
        case ">": {
          if (!isNumberToken(token)) barf(`Value of ${operator} must be numeric`);
          const bottomText = tokens.text;
          const afterBottom = tokens.next();
          const bottomInclusive = operator === ">=";
          if (afterBottom === "endArray") {
            const low: NumericBound = { value: requireComparableNumber(bottomText), inclusive: bottomInclusive };
            return { kind: "numericRange", low, high: { value: Number.MAX_VALUE, inclusive: true } };
          }
          return this.completeNumericRange(afterBottom, bottomText, bottomInclusive);
        }
        case "<=":
        case "<": {
          if (!isNumberToken(token)) barf(`Value of ${operator} must be numeric`);
          const topText = tokens.text;
          if (tokens.next() !== "endArray") this.tooManyElements();
          const high: NumericBound = { value: requireComparableNumber(topText), inclusive: operator === "<=" };
          return { kind: "numericRange", low: { value: -Number.MAX_VALUE, inclusive: true }, high };
        }
        default:
          barf(`Unrecognized numeric range operator: ${operator}`);
      }
    } catch (error) {
      if (error instanceof NotComparableNumberError) barf(error.message);
      throw error;
    }
  }

  private completeNumericRange(token: JsonToken | null, bottomText: string, bottomInclusive: boolean): ValuePattern {
    const tokens = this.tokens;
    if (token !== "string") barf(`Bad value in numeric range: ${tokens.text}`);
    const operator = tokens.text;
    if (operator !== "<" && operator !== "<=") barf(`Bad numeric range operator: ${operator}`);
    if (!isNumberToken(tokens.next())) barf(`Value of ${operator} must be numeric`);
    const topText = tokens.text;
    if (tokens.next() !== "endArray") barf("Too many terms in numeric range expression");
    const low: NumericBound = { value: requireComparableNumber(bottomText), inclusive: bottomInclusive };
    const high: NumericBound = { value: requireComparableNumber(topText), inclusive: operator === "<=" };
    // event-ruler compares the bounds themselves, so equal bounds are rejected even when both are inclusive.
    if (compareComparableNumbers(low.value, high.value) >= 0) barf("Bottom must be less than top");
    return { kind: "numericRange", low, high };
  }

  private processAnythingBut(): ValuePattern {
    const tokens = this.tokens;
    let setKind: AnythingButSetKind | null = null;
    let token = tokens.next();
    if (token === "startObject") {
      if (tokens.next() !== "fieldName") barf("Anything-But expression name not found");
      const operator = tokens.fieldName;
      if (
        operator !== "equals-ignore-case" &&
        operator !== "prefix" &&
        operator !== "suffix" &&
        operator !== "wildcard"
      ) {
        barf(`Unsupported anything-but pattern: ${operator}`);
      }
      setKind = operator;
      token = tokens.next();
    }
    if (token !== "startArray" && token !== "string" && !isNumberToken(token)) {
      barf("Value of anything-but must be an array or single string/number value.");
    }
    let pattern: ValuePattern;
    if (setKind === null) {
      pattern = token === "startArray" ? this.processAnythingButList() : this.processAnythingButSingle(token);
    } else {
      const values =
        token === "startArray" ? this.readAnythingButSetList(setKind) : [this.readAnythingButSetValue(token, setKind)];
      pattern = anythingButSet(setKind, values);
    }
    if (tokens.next() !== "endObject") this.tooManyElements();
    if (setKind !== null && tokens.next() !== "endObject") this.tooManyElements();
    return pattern;
  }

  private readAnythingButSetValue(token: JsonToken | null, setKind: AnythingButSetKind): string {
    if (token !== "string") barfNonStringInSet(setKind);
    const text = this.tokens.text;
    if ((setKind === "prefix" || setKind === "suffix") && text === "") barf("Null prefix/suffix not allowed");
    if (setKind === "wildcard") parseWildcardOrBarf(text);
    return text;
  }

  private readAnythingButSetList(setKind: AnythingButSetKind): string[] {
    const texts: string[] = [];
    for (let token = this.tokens.next(); token !== "endArray"; token = this.tokens.next()) {
      if (token !== "string") barfNonStringInSet(setKind);
      const text = this.tokens.text;
      if ((setKind === "prefix" || setKind === "suffix") && text === "") barf("Null prefix/suffix not allowed");
      texts.push(text);
    }
    // event-ruler validates wildcards only once the whole list has been read.
    if (setKind === "wildcard") for (const text of texts) parseWildcardOrBarf(text);
    return texts;
  }

  /** Plain anything-but list: all strings or all numbers. */
  private processAnythingButList(): ValuePattern {
    const strings = new Set<string>();
    const numbers: number[] = [];
    for (let token = this.tokens.next(); token !== "endArray"; token = this.tokens.next()) {
      if (token === "string") strings.add(asJavaUtf8Text(this.tokens.text));
      else if (isNumberToken(token)) {
        try {
          numbers.push(requireComparableNumber(this.tokens.text));
        } catch (error) {
          if (error instanceof NotComparableNumberError) barf(error.message);
          throw error;
        }
      } else barf("Inside anything but list, start|null|boolean is not supported.");
    }
    if (strings.size > 0 === numbers.length > 0) {
      barf("Inside anything but list, either all values are number or string, mixed type is not supported");
    }
    return numbers.length > 0
      ? { kind: "anythingButNumbers", values: numbers }
      : { kind: "anythingButStrings", values: strings };
  }

  /** A single anything-but number that cannot be compared escapes as IllegalArgumentException. */
  private processAnythingButSingle(token: JsonToken | null): ValuePattern {
    if (token === "string") return { kind: "anythingButStrings", values: new Set([asJavaUtf8Text(this.tokens.text)]) };
    return { kind: "anythingButNumbers", values: [requireComparableNumber(this.tokens.text)] };
  }

  private processLegacyAnythingBut(): ValuePattern {
    const tokens = this.tokens;
    let ignoreCase = false;
    let token = tokens.next();
    if (token === "startObject") {
      if (tokens.next() !== "fieldName") barf("Anything-But expression name not found");
      const operator = tokens.fieldName;
      ignoreCase = operator === "equals-ignore-case";
      if (!ignoreCase) {
        if (operator !== "prefix" && operator !== "suffix") barf(`Unsupported anything-but pattern: ${operator}`);
        if (tokens.next() !== "string") barf("prefix/suffix match pattern must be a string");
        const text = tokens.text;
        if (text === "") barf("Null prefix/suffix not allowed");
        this.expectObjectEnd();
        this.expectObjectEnd();
        return anythingButSet(operator, [text]);
      }
      token = tokens.next();
    }
    if (token !== "startArray" && token !== "string" && !isNumberToken(token)) {
      barf("Value of anything-but must be an array or single string/number value.");
    }
    let pattern: ValuePattern;
    if (ignoreCase) {
      const values: string[] = [];
      if (token === "startArray") {
        for (let item = tokens.next(); item !== "endArray"; item = tokens.next()) {
          if (item !== "string")
            barf("Inside anything-but/ignore-case list, number|start|null|boolean is not supported.");
          values.push(tokens.text);
        }
      } else {
        if (token !== "string")
          barf("Inside anything-but/ignore-case list, number|start|null|boolean is not supported.");
        values.push(tokens.text);
      }
      pattern = anythingButSet("equals-ignore-case", values);
    } else {
      pattern = token === "startArray" ? this.processAnythingButList() : this.processAnythingButSingle(token);
    }
    if (tokens.next() !== "endObject") this.tooManyElements();
    if (ignoreCase && tokens.next() !== "endObject") this.tooManyElements();
    return pattern;
  }
}

type AnythingButSetKind = "equals-ignore-case" | "prefix" | "suffix" | "wildcard";

function barfNonStringInSet(setKind: AnythingButSetKind): never {
  if (setKind === "equals-ignore-case") {
    barf("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.");
  }
  barf(
    setKind === "wildcard" ? "wildcard match pattern must be a string" : "prefix/suffix match pattern must be a string",
  );
}

function parseWildcardOrBarf(text: string): ReturnType<typeof parseWildcard> {
  try {
    return parseWildcard(asJavaUtf8Text(text));
  } catch (error) {
    if (error instanceof InvalidWildcardError) barf(error.message);
    throw error;
  }
}

function anythingButSet(setKind: AnythingButSetKind, texts: readonly string[]): ValuePattern {
  const values = texts.map(asJavaUtf8Text);
  switch (setKind) {
    case "equals-ignore-case":
      return { kind: "anythingButIgnoreCase", patterns: values.map(parseCaseInsensitive) };
    case "prefix":
      return { kind: "anythingButPrefix", values };
    case "suffix":
      return { kind: "anythingButSuffix", values };
    case "wildcard":
      return { kind: "anythingButWildcard", patterns: values.map(parseWildcard) };
  }
}
