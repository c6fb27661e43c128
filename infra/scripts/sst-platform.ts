// Makes sure SST's platform (component sources and `.sst/platform/config.d.ts`, the types the
// root sst.config.ts and infra/src are checked against) is installed where SST puts it: `.sst/`
// beside the app's config, at the repository root. Offline: SST's CLI would download Pulumi on
// first run, but `sst install` with the dependency check skipped installs the platform from the
// npm registry alone. Runs once per clone (~1 min); later runs see it and exit.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const root = new URL("../..", import.meta.url).pathname;
const platformTypes = `${root}.sst/platform/config.d.ts`;
const installedVersion = () =>
  existsSync(`${root}.sst/platform/version`) ? readFileSync(`${root}.sst/platform/version`, "utf8").trim() : undefined;
// npm hoists `sst` to the repository's node_modules; resolve it rather than assume where.
const sstPackage = new URL("..", import.meta.resolve("sst")).pathname;
const wantedVersion = (JSON.parse(readFileSync(`${sstPackage}package.json`, "utf8")) as { version: string }).version;

if (existsSync(platformTypes) && installedVersion() === wantedVersion) process.exit(0);

console.log(`installing the SST ${wantedVersion} platform into .sst (offline, from the npm registry)…`);
const started = Date.now();
// A registry that does not answer makes npm retry for minutes: give up, saying so, instead.
const INSTALL_TIMEOUT_MS = 5 * 60_000;
const result = spawnSync(
  process.execPath,
  [`${sstPackage}bin/sst.mjs`, "install", "--config", `${root}sst.config.ts`],
  {
    timeout: INSTALL_TIMEOUT_MS,
    cwd: root,
    stdio: "inherit",
    // `sst install` wants a stage although it creates nothing in one.
    env: {
      SST_STAGE: "typecheck",
      ...process.env,
      SST_SKIP_DEPENDENCY_CHECK: "1",
      SST_NO_BUN: "1",
      SST_TELEMETRY_DISABLED: "1",
    },
  },
);
if (result.status !== 0 || !existsSync(platformTypes)) {
  const why = result.error
    ? `${result.error.message}${result.signal ? ` (${result.signal}: no answer within ${INSTALL_TIMEOUT_MS / 60_000} min)` : ""}`
    : `exit ${result.status ?? result.signal}`;
  console.error(`sst install failed (${why}); sst.config.ts cannot be type-checked.`);
  process.exit(1);
}
console.log(`SST platform installed in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
