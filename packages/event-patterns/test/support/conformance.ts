import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * event-ruler's recorded answers, kept in this package as test fixtures (provenance and licence in
 * the folder's README) so a fresh clone's `npm test` reads nothing outside the repository.
 * Exported as `@quire/event-patterns/conformance` for every implementation's specs (devcloud's API too).
 */
export const conformanceDir = fileURLToPath(new URL("../fixtures/eventbridge-conformance/", import.meta.url));

export interface MatchingCase {
  name: string;
  patternText: string;
  eventText: string;
  match: boolean;
}
export interface InvalidPatternCase {
  name: string;
  patternText: string;
  error: string;
}

export const readConformance = <T>(file: string): T[] =>
  JSON.parse(readFileSync(join(conformanceDir, file), "utf8")) as T[];
