import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The team's oracle data sits beside the repository (../shared), read at test time, never copied.
 * Exported as `@quire/event-patterns/conformance` for every implementation's specs (devcloud's API too).
 */
export const conformanceDir = join(
  process.env.QUIRE_SHARED_DIR ?? fileURLToPath(new URL("../../../../../shared/", import.meta.url)),
  "conformance",
  "eventbridge",
);

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

export const readConformance = <T>(file: string): T[] => JSON.parse(readFileSync(join(conformanceDir, file), "utf8")) as T[];
