/**
 * Flattens an event into leaf values keyed by dotted path, the shape event-ruler matches against.
 * Each value remembers which element of which enclosing array it came from, so a pattern's fields
 * can be required to come from the same array element ("array consistency").
 */
import { toComparableNumber } from "./comparable-number.ts";
import { JsonTokenizer } from "./json-tokens.ts";
import { asJavaUtf8Text } from "./string-matchers.ts";
import type { EventValue } from "./value-patterns.ts";

/** Pairs of (array id, element index) for every array element enclosing the value. */
export type ArrayMembership = readonly (readonly [arrayId: number, elementIndex: number])[];

export interface EventField {
  readonly value: EventValue;
  readonly membership: ArrayMembership;
}

export type FlattenedEvent = ReadonlyMap<string, readonly EventField[]>;

/** The dotted paths a pattern reads, plus every path that leads to one, so other subtrees are skipped. */
export class FieldPathFilter {
  private readonly leafPaths: ReadonlySet<string>;
  private readonly innerPaths: ReadonlySet<string>;

  constructor(leafPaths: Iterable<string>) {
    const leaves = new Set(leafPaths);
    const inner = new Set<string>();
    for (const path of leaves) {
      for (let dot = path.indexOf("."); dot >= 0; dot = path.indexOf(".", dot + 1)) inner.add(path.slice(0, dot));
    }
    this.leafPaths = leaves;
    this.innerPaths = inner;
  }

  isLeaf(path: string): boolean {
    return this.leafPaths.has(path);
  }

  isRelevant(path: string): boolean {
    return this.leafPaths.has(path) || this.innerPaths.has(path);
  }
}

export class EventNotAnObjectError extends TypeError {
  override readonly name = "EventNotAnObjectError";
}

export function flattenEvent(eventText: string, filter: FieldPathFilter): FlattenedEvent {
  return new EventFlattener(eventText, filter).flatten();
}

class EventFlattener {
  private readonly tokens: JsonTokenizer;
  private readonly filter: FieldPathFilter;
  private readonly fields = new Map<string, EventField[]>();
  private readonly membership: [number, number][] = [];
  private arrayCount = 0;

  constructor(eventText: string, filter: FieldPathFilter) {
    this.tokens = new JsonTokenizer(eventText);
    this.filter = filter;
  }

  flatten(): FlattenedEvent {
    if (this.tokens.next() !== "startObject") throw new EventNotAnObjectError("Event must be a JSON object");
    this.traverseObject("");
    return this.fields;
  }

  private traverseObject(parentPath: string): void {
    const tokens = this.tokens;
    while (tokens.next() !== "endObject") {
      const path = parentPath === "" ? tokens.fieldName : `${parentPath}.${tokens.fieldName}`;
      const token = tokens.next();
      if (!this.filter.isRelevant(path)) {
        if (token === "startObject" || token === "startArray") tokens.skipChildren();
        continue;
      }
      if (token === "startObject") this.traverseObject(path);
      else if (token === "startArray") this.traverseArray(path);
      else this.addLeaf(path, token === "string", token === "int" || token === "float");
    }
  }

  private traverseArray(path: string): void {
    const tokens = this.tokens;
    const arrayId = this.arrayCount++;
    let elementIndex = 0;
    for (let token = tokens.next(); token !== "endArray"; token = tokens.next(), elementIndex++) {
      // Only nested containers record membership: scalars in one array are interchangeable.
      if (token === "startObject" || token === "startArray") {
        this.membership.push([arrayId, elementIndex]);
        if (token === "startObject") this.traverseObject(path);
        else this.traverseArray(path);
        this.membership.pop();
      } else {
        this.addLeaf(path, token === "string", token === "int" || token === "float");
      }
    }
  }

  private addLeaf(path: string, isString: boolean, isNumber: boolean): void {
    if (!this.filter.isLeaf(path)) return;
    const text = this.tokens.text;
    const value: EventValue = isString
      ? { kind: "string", text: asJavaUtf8Text(text) }
      : { kind: "literal", text, comparable: isNumber ? toComparableNumber(text) : null };
    const field: EventField = { value, membership: this.membership.map(([id, index]) => [id, index] as const) };
    const existing = this.fields.get(path);
    if (existing === undefined) this.fields.set(path, [field]);
    else existing.push(field);
  }
}
