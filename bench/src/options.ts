import type { ParseArgsOptionsConfig } from "node:util";

/**
 * The flags `npm run bench -- …` takes (src/main.ts parses with exactly these; the README's
 * commands are checked against them by tests/e2e/test/readme-commands.test.ts).
 */
export const BENCH_OPTIONS = {
  quick: { type: "boolean", default: false },
  docs: { type: "string" },
  rpm: { type: "string" },
  tpm: { type: "string" },
  "time-scale": { type: "string" },
  workers: { type: "string" },
  "baseline-concurrency": { type: "string" },
  "skip-overhead": { type: "boolean", default: false },
  "adaptation-docs": { type: "string" },
  "skip-adaptation": { type: "boolean", default: false },
  "skip-batch": { type: "boolean", default: false },
  /** (a)'s and the adaptation scenarios' QUIRE_QUOTA_SHARE: `off` for AIMD alone (the services' default, `dynamodb`, when absent). */
  "quota-share": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;
