import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export const DEFAULT_API_URL = "http://127.0.0.1:3000";
export const DEFAULT_NOTIFIER_URL = "http://127.0.0.1:3001";

/** `npm start` keeps the local key in <repo>/.quire/api-key; look for it from `cwd` upwards. */
export function findLocalApiKey(cwd: string): string | undefined {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const file = join(dir, ".quire", "api-key");
    if (existsSync(file)) return readFileSync(file, "utf8").trim() || undefined;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Flags first, then env, then the defaults `npm start` uses. */
export function resolveConnection(
  flags: { apiUrl?: string; notifierUrl?: string; apiKey?: string },
  env: NodeJS.ProcessEnv,
  cwd: string,
) {
  const apiKey = flags.apiKey ?? env.QUIRE_API_KEY ?? findLocalApiKey(cwd);
  if (!apiKey)
    throw new Error(
      "No API key: pass --api-key, set QUIRE_API_KEY, or run npm start in the Quire repo (it keeps one in .quire/api-key).",
    );
  return {
    apiUrl: flags.apiUrl ?? env.QUIRE_API_URL ?? DEFAULT_API_URL,
    notifierUrl: flags.notifierUrl ?? env.QUIRE_NOTIFIER_URL ?? DEFAULT_NOTIFIER_URL,
    apiKey,
  };
}
