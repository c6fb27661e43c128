import { createQuireClient, type QuireClient } from "@quire/cli/client";

/**
 * What the console is told by the server that serves it (`/config.json`): where the two APIs
 * are, and whether a local email outbox is there to show. No secret is ever in it: the only
 * credential the browser holds is the API key the user typed.
 */
export interface ConsoleConfig {
  ingestionApi: string;
  notifierApi: string;
  /** Locally: the path (on the console's own origin) that lists devcloud's email outbox. */
  outbox?: string;
}

const KEY_STORAGE = "quire.console.apiKey";

/**
 * The key lives in sessionStorage: it survives a reload but not the tab, and no other site
 * can read it. It is sent only as `x-api-key` to the two APIs the config names.
 */
export const storedKey = () => sessionStorage.getItem(KEY_STORAGE) ?? undefined;
export const storeKey = (key: string) => sessionStorage.setItem(KEY_STORAGE, key);
export const forgetKey = () => sessionStorage.removeItem(KEY_STORAGE);

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return (await response.json()) as ConsoleConfig;
}

export const clientFor = (config: ConsoleConfig, apiKey: string): QuireClient =>
  createQuireClient({
    apiUrl: config.ingestionApi,
    notifierUrl: config.notifierApi,
    apiKey,
    // The browser's fetch, bound: some browsers refuse a fetch called with another `this`.
    fetch: (input, init) => globalThis.fetch(input, init),
  });
