import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));

/** The console as a static site: three files, whatever serves them (the local server, S3 + CloudFront). */
export interface ConsoleSite {
  "index.html": string;
  "console.js": string;
  "console.css": string;
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Quire console</title>
<link rel="stylesheet" href="console.css">
<script type="module" src="console.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;

/**
 * Bundles the Preact app with esbuild (minified, one ES module, no source maps shipped): fast
 * enough to run when the local server starts (≈100 ms), so there is no build step to forget.
 */
export async function buildSite(): Promise<ConsoleSite> {
  const result = await build({
    entryPoints: { console: resolve(here, "ui/main.tsx") },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    write: false,
    outdir: "out",
    legalComments: "none",
    logLevel: "silent",
  });
  const file = (extension: string) => {
    const output = result.outputFiles.find((f) => f.path.endsWith(extension));
    if (!output) throw new Error(`esbuild made no ${extension}`);
    return output.text;
  };
  return { "index.html": INDEX_HTML, "console.js": file(".js"), "console.css": file(".css") };
}

/**
 * `npm run build -w @quire/console` (what the SST static site runs): the site into `dir`, with
 * its `config.json`. Deployed, the APIs share the console's origin (infra/src/console.ts), so
 * their bases are empty (relative paths) unless QUIRE_CONSOLE_INGESTION_API / _NOTIFIER_API say.
 */
export async function writeSite(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const site = await buildSite();
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(site)) await writeFile(resolve(dir, name), text);
  const config = {
    ingestionApi: env.QUIRE_CONSOLE_INGESTION_API ?? "",
    notifierApi: env.QUIRE_CONSOLE_NOTIFIER_API ?? "",
  };
  await writeFile(resolve(dir, "config.json"), `${JSON.stringify(config)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? "dist");
  await writeSite(dir);
  console.log(`console built into ${dir}`);
}
