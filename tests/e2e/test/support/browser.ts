/// <reference lib="dom" />
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

/**
 * Real headless Chromium for the console's specs, without a browser download: the system's own
 * (Debian's `chromium` package), or the one QUIRE_CHROMIUM_PATH names. playwright-core drives it.
 */
const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

export const INSTALL_HINT =
  "No Chromium found for the console's browser specs. Install it (Debian/Ubuntu: `sudo apt-get install chromium`; " +
  "macOS: install Google Chrome) or set QUIRE_CHROMIUM_PATH to a Chromium or Chrome executable.";

export function findChromium(): string | undefined {
  const configured = process.env.QUIRE_CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? configured : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

/** CI (`.ci/run`, or any CI that sets CI) must run the browser specs: a missing browser fails there. */
export const browserRequired = () => Boolean(process.env.QUIRE_BROWSER_REQUIRED || process.env.CI);

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** Screenshots land here (tests/e2e/.artifacts/console): the specs' artifacts, kept out of git. */
export const ARTIFACTS = new URL("../../.artifacts/console/", import.meta.url).pathname;
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's WCAG 2.1 A and AA rules on the page as it is now. Evaluated through the DevTools
 * protocol, so the console's Content-Security-Policy (no inline scripts) stays on while it runs.
 */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<unknown> } })
      .axe;
    return axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
  });
  return (result as { violations: AxeViolation[] }).violations;
}

export const describeViolations = (violations: AxeViolation[]) =>
  violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
