/**
 * Array-consistent matching of compiled sub-rules against a flattened event, following
 * event-ruler's finder: fields are visited in sorted path order; a value may only be used if it
 * comes from the same element of every array that earlier-used values came from; and
 * `exists: false` holds when no value at that path is consistent with the elements chosen so far.
 */
import type { ArrayMembership, EventField, FlattenedEvent } from "./event-fields.ts";
import { valueMatches, type ValuePattern } from "./value-patterns.ts";

export interface FieldCondition {
  readonly path: string;
  readonly valuePatterns: readonly ValuePattern[];
  readonly allowsAbsence: boolean;
}

/** All conditions must hold; they are sorted by path the way Java sorts strings (UTF-16 units). */
export type ConditionSet = readonly FieldCondition[];

export function toConditionSet(fields: ReadonlyMap<string, readonly ValuePattern[]>): ConditionSet {
  return [...fields.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, patterns]) => ({
      path,
      valuePatterns: patterns.filter((p) => p.kind !== "absent"),
      allowsAbsence: patterns.some((p) => p.kind === "absent"),
    }));
}

type ChosenElements = ReadonlyMap<number, number>;

const NO_ELEMENTS_CHOSEN: ChosenElements = new Map();

export function conditionSetMatches(conditions: ConditionSet, event: FlattenedEvent): boolean {
  return matchFrom(conditions, 0, event, NO_ELEMENTS_CHOSEN);
}

function matchFrom(conditions: ConditionSet, index: number, event: FlattenedEvent, chosen: ChosenElements): boolean {
  const condition = conditions[index];
  if (condition === undefined) return true;
  const fields = event.get(condition.path) ?? [];
  if (condition.allowsAbsence && !fields.some((field) => isConsistent(chosen, field.membership))) {
    if (matchFrom(conditions, index + 1, event, chosen)) return true;
  }
  for (const field of fields) {
    if (!condition.valuePatterns.some((pattern) => valueMatches(pattern, field.value))) continue;
    const merged = mergeMembership(chosen, field);
    if (merged !== null && matchFrom(conditions, index + 1, event, merged)) return true;
  }
  return false;
}

function isConsistent(chosen: ChosenElements, membership: ArrayMembership): boolean {
  for (const [arrayId, elementIndex] of membership) {
    const chosenIndex = chosen.get(arrayId);
    if (chosenIndex !== undefined && chosenIndex !== elementIndex) return false;
  }
  return true;
}

function mergeMembership(chosen: ChosenElements, field: EventField): ChosenElements | null {
  if (!isConsistent(chosen, field.membership)) return null;
  if (field.membership.every(([arrayId]) => chosen.has(arrayId))) return chosen;
  const merged = new Map(chosen);
  for (const [arrayId, elementIndex] of field.membership) merged.set(arrayId, elementIndex);
  return merged;
}
