import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Checks every API response against the OpenAPI documents; a test that gets an undocumented one fails.
    setupFiles: ["test/support/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own devcloud and workers; two at once is what 2 cores take.
    maxWorkers: 2,
  },
});
