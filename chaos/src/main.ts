// npm run chaos [-- --quick] [-- --scenario kill,duplicates] — see chaos/README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CHAOS_OPTIONS } from "./options.ts";
import { renderMarkdown, scenarioLine, summaryLine, totalsOf, type ChaosReport } from "./report.ts";
import { play, scenarioNames, scenarios, type ScenarioResult, type Settings } from "./scenarios.ts";

const { values: args } = parseArgs({ options: CHAOS_OPTIONS });
const quick = args.quick;
const chosen = (args.scenario ?? []).flatMap((s) => s.split(",")).filter(Boolean);
const unknown = chosen.filter((name) => !scenarioNames.includes(name));
if (unknown.length) {
  process.stderr.write(`chaos: no scenario ${unknown.join(", ")}; there are ${scenarioNames.join(", ")}\n`);
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`${line}\n`);
const startedAt = new Date().toISOString();
const settings: Settings = {
  quick,
  documents: Number(args.docs ?? (quick ? 16 : 60)),
  workersPerStage: Number(args.workers ?? (quick ? 1 : 2)),
  // As tests/e2e/test/transient-faults.test.ts: the model 10× fast, the quota binding
  // (15 model RPM = 150 real RPM: a 16-document run takes ~13 s of model time, so chaos lands mid-run).
  scale: { timeScale: 0.1, modelRpm: 15, modelLatencyMs: 2000, visibilityTimeoutSeconds: 15 },
  settleTimeoutMs: quick ? 120_000 : 600_000,
  logRoot: join(tmpdir(), `quire-chaos-logs-${startedAt.replace(/[:.]/g, "-")}`),
  log,
};
const selected = scenarios.filter((s) => chosen.length === 0 || chosen.includes(s.name));
log(
  `Quire chaos: ${selected.length} scenarios, ${settings.documents} documents each, ${settings.workersPerStage} worker(s) per stage, time scale ${settings.scale.timeScale}${quick ? " (quick)" : ""}; process logs in ${settings.logRoot}`,
);

const results: ScenarioResult[] = [];
for (const scenario of selected) {
  log(`  ${scenario.name}: ${scenario.description}`);
  try {
    const result = await play(scenario, settings);
    results.push(result);
    console.log(scenarioLine(result));
    for (const problem of result.ledger.problems.slice(0, 10)) log(`    ${problem}`);
  } catch (error) {
    // A scenario that could not be played fails, with a ledger that says so.
    const result: ScenarioResult = {
      name: scenario.name,
      description: scenario.description,
      seconds: 0,
      chaos: {},
      logDir: join(settings.logRoot, scenario.name),
      ledger: {
        submitted: 0,
        complete: 0,
        failedPermanent: 0,
        transientFailures: 0,
        lost: 0,
        duplicated: 0,
        reannounced: 0,
        stuck: 0,
        unhealthy: [],
        failureCodes: {},
        ok: false,
        problems: [`could not play: ${(error as Error).stack ?? error}`],
      },
    };
    results.push(result);
    console.log(scenarioLine(result));
    log(`    ${result.ledger.problems[0]}`);
  }
}

const totals = totalsOf(results);
const report: ChaosReport = {
  startedAt,
  settings: {
    quick,
    documents: settings.documents,
    workersPerStage: settings.workersPerStage,
    ...settings.scale,
    settleTimeoutMs: settings.settleTimeoutMs,
  },
  scenarios: results,
  totals,
};
const outDir = args.out ?? fileURLToPath(new URL("../results/", import.meta.url));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(outDir, "latest.md"), renderMarkdown(report));
console.log(summaryLine(totals));
process.exit(totals.passed === totals.run ? 0 : 1);
