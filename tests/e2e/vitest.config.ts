import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own devcloud and workers; two at once is what 2 cores take.
    maxWorkers: 2,
  },
});
