// `npm run service -- <name>`: one service alone, against the devcloud already running (from
// `npm run devcloud` or `npm start`), with the environment `npm start` would give it. For
// watching, killing and restarting one process while the rest run (and `--watch`/`--inspect`
// pass through to node: `npm run service -- summarizer --inspect`).
import { spawn } from "node:child_process";
import { LOCAL_SERVICE_NODE_FLAGS } from "@quire/config";
import { topology, type DeployedServiceName } from "@quire/topology";
import { devcloudEnvironment, root, serviceEnvironment } from "./local-env.ts";

const services = Object.keys(topology.services) as DeployedServiceName[];
const [name, ...nodeFlags] = process.argv.slice(2);
if (!name || !services.includes(name as DeployedServiceName)) {
  console.error(`usage: npm run service -- <${services.join("|")}> [node flags, e.g. --inspect]`);
  process.exit(2);
}
let env: NodeJS.ProcessEnv;
try {
  env = serviceEnvironment(await devcloudEnvironment());
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const child = spawn(process.execPath, [...LOCAL_SERVICE_NODE_FLAGS, ...nodeFlags, `services/${name}/src/local.ts`], {
  cwd: root,
  env,
  stdio: "inherit",
});
// The service stops gracefully on SIGINT/SIGTERM (finishes or releases its messages): pass them on.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
