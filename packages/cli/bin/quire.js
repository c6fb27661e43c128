#!/usr/bin/env node
// The `quire` bin. Quire's sources are TypeScript run by Node's type stripping, on by default
// from Node 22.18 (and 23.6); on an older node (say a machine's Node 20), run again with the
// Node 24 the repo installs as a devDependency (the `node` package), so `quire` works anywhere.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const stripsTypes = major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
if (stripsTypes) {
  await import("../src/main.ts");
} else {
  const node24 = fileURLToPath(new URL("../../../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(node24)) {
    console.error(`quire needs Node >= 22.18 (this is ${process.version}); run \`npm install\` in the Quire repo`);
    process.exit(1);
  }
  const child = spawn(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  // Ctrl-C reaches the whole foreground process group, the child included: let the child handle
  // it (`quire listen` unsubscribes first) and exit with it. A SIGTERM sent to this process only
  // is passed on.
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  child.on("error", (error) => {
    console.error(`quire could not start ${node24}: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 1)));
}
