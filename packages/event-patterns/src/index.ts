/**
 * Amazon EventBridge event patterns, with the semantics of aws/event-ruler (the matcher EventBridge
 * is built on): validation as PutRule / TestEventPattern apply it, and array-consistent matching.
 */
import { compileSubRules, PatternCompileError, type RulerExceptionType } from "./compiler.ts";
import { FieldPathFilter, flattenEvent } from "./event-fields.ts";
import { conditionSetMatches, toConditionSet, type ConditionSet } from "./matcher.ts";

/** Thrown for any invalid pattern; EventBridge answers InvalidEventPatternException with `message`. */
export class InvalidEventPatternError extends Error {
  override readonly name = "InvalidEventPatternError";
  readonly code = "InvalidEventPatternException" as const;
  /** The Java exception event-ruler throws for this pattern, for diagnostics. */
  readonly rulerExceptionType: RulerExceptionType;

  constructor(message: string, rulerExceptionType: RulerExceptionType = "JsonParseException") {
    super(message);
    this.rulerExceptionType = rulerExceptionType;
  }
}

export interface CompiledEventPattern {
  /**
   * `event` is either the raw JSON text of the event (numbers keep their written form) or an
   * already-parsed JS value. Throws a SyntaxError-like error for malformed JSON text and a
   * TypeError when the event is not a JSON object, as event-ruler does.
   */
  matches(event: string | unknown): boolean;
}

/**
 * Compile once, match many times (like event-ruler). `pattern` is raw JSON text or a parsed object. Throws
 * InvalidEventPatternError.
 */
export function compileEventPattern(pattern: string | object): CompiledEventPattern {
  const patternText = typeof pattern === "string" ? pattern : stringifyPattern(pattern);
  let conditionSets: ConditionSet[];
  try {
    conditionSets = compileSubRules(patternText).map(toConditionSet);
  } catch (error) {
    if (error instanceof PatternCompileError) {
      throw new InvalidEventPatternError(error.message, error.rulerExceptionType);
    }
    throw error;
  }
  return new EventPatternMatcher(conditionSets);
}

function stringifyPattern(pattern: object): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(pattern);
  } catch (error) {
    throw new InvalidEventPatternError(`Pattern is not serializable as JSON: ${String(error)}`);
  }
  if (text === undefined) throw new InvalidEventPatternError("Filter is not an object");
  return text;
}

class EventPatternMatcher implements CompiledEventPattern {
  /** Alternatives from `$or`; the pattern matches when any one of them does. */
  private readonly conditionSets: readonly ConditionSet[];
  private readonly pathFilter: FieldPathFilter;

  constructor(conditionSets: readonly ConditionSet[]) {
    this.conditionSets = conditionSets;
    this.pathFilter = new FieldPathFilter(conditionSets.flatMap((set) => set.map((condition) => condition.path)));
  }

  matches(event: string | unknown): boolean {
    const eventText = typeof event === "string" ? event : JSON.stringify(event);
    if (eventText === undefined) throw new TypeError("Event must be a JSON object");
    const fields = flattenEvent(eventText, this.pathFilter);
    return this.conditionSets.some((conditions) => conditionSetMatches(conditions, fields));
  }
}
