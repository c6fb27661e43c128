import type { ParseArgsOptionsConfig } from "node:util";

/**
 * The flags `npm run devcloud -- …` takes (src/main.ts parses with exactly these; the README's
 * commands are checked against them by tests/e2e/test/readme-commands.test.ts).
 */
export const DEVCLOUD_OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  "allow-host": { type: "string" },
  "data-dir": { type: "string" },
  memory: { type: "boolean", default: false },
  faults: { type: "string" },
  help: { type: "boolean", default: false },
} as const satisfies ParseArgsOptionsConfig;
