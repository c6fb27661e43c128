// Makes sure SST's platform (component sources and `.sst/platform/config.d.ts`, the types
// every sst.config.ts is checked against) is installed in infra/.sst, offline: SST's CLI would
// download Pulumi on first run, but `sst install` with the dependency check skipped installs the
// platform from the npm registry alone. Runs once per clone (~1 min); later runs see it and exit.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const infra = new URL("..", import.meta.url).pathname;
const platformTypes = `${infra}.sst/platform/config.d.ts`;
const installedVersion = () =>
  existsSync(`${infra}.sst/platform/version`)
    ? readFileSync(`${infra}.sst/platform/version`, "utf8").trim()
    : undefined;
// npm hoists `sst` to the repository's node_modules; resolve it rather than assume where.
const sstPackage = new URL("..", import.meta.resolve("sst")).pathname;
const wantedVersion = (JSON.parse(readFileSync(`${sstPackage}package.json`, "utf8")) as { version: string }).version;

if (existsSync(platformTypes) && installedVersion() === wantedVersion) process.exit(0);

console.log(`installing the SST ${wantedVersion} platform into infra/.sst (offline, from the npm registry)…`);
const started = Date.now();
// A registry that does not answer makes npm retry for minutes: give up, saying so, instead.
const INSTALL_TIMEOUT_MS = 5 * 60_000;
const result = spawnSync(process.execPath, [`${sstPackage}bin/sst.mjs`, "install"], {
  timeout: INSTALL_TIMEOUT_MS,
  cwd: infra,
  stdio: "inherit",
  // `sst install` wants a stage although it creates nothing in one.
  env: {
    SST_STAGE: "typecheck",
    ...process.env,
    SST_SKIP_DEPENDENCY_CHECK: "1",
    SST_NO_BUN: "1",
    SST_TELEMETRY_DISABLED: "1",
  },
});
if (result.status !== 0 || !existsSync(platformTypes)) {
  const why = result.error
    ? `${result.error.message}${result.signal ? ` (${result.signal}: no answer within ${INSTALL_TIMEOUT_MS / 60_000} min)` : ""}`
    : `exit ${result.status ?? result.signal}`;
  console.error(`sst install failed (${why}); sst.config.ts files cannot be type-checked.`);
  process.exit(1);
}
console.log(`SST platform installed in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
