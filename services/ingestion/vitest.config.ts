import { defineConfig } from "vitest/config";

export default defineConfig({
  // The API specs start devcloud (and a DLQ wait) per file: room for a busy machine.
  test: { include: ["test/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 60_000 },
});
