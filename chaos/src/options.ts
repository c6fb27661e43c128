import type { ParseArgsOptionsConfig } from "node:util";

/**
 * The flags `npm run chaos -- …` takes (src/main.ts parses with exactly these; the READMEs'
 * commands are checked against them by tests/e2e/test/readme-commands.test.ts).
 */
export const CHAOS_OPTIONS = {
  quick: { type: "boolean", default: false },
  scenario: { type: "string", multiple: true },
  docs: { type: "string" },
  workers: { type: "string" },
  out: { type: "string" },
} as const satisfies ParseArgsOptionsConfig;
