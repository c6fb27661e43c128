import type { ScenarioResult } from "./scenarios.ts";

export interface ChaosReport {
  startedAt: string;
  settings: Record<string, unknown>;
  scenarios: ScenarioResult[];
  totals: { passed: number; run: number; lost: number; duplicated: number; stuck: number; transientFailures: number };
}

export function totalsOf(results: ScenarioResult[]): ChaosReport["totals"] {
  const sum = (pick: (r: ScenarioResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return {
    passed: results.filter((r) => r.ledger.ok).length,
    run: results.length,
    lost: sum((r) => r.ledger.lost),
    duplicated: sum((r) => r.ledger.duplicated),
    stuck: sum((r) => r.ledger.stuck),
    transientFailures: sum((r) => r.ledger.transientFailures),
  };
}

/** One line per scenario. */
export function scenarioLine(r: ScenarioResult): string {
  const l = r.ledger;
  const chaos = Object.entries(r.chaos)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return (
    `${l.ok ? "PASS" : "FAIL"} ${r.name.padEnd(17)} ${l.submitted} submitted: ${l.complete} complete, ${l.failedPermanent} failed-permanent; ` +
    `lost=${l.lost} duplicated=${l.duplicated} reannounced=${l.reannounced} stuck=${l.stuck} transient_failures=${l.transientFailures}; ` +
    `healthy ${l.unhealthy.length ? `no (${l.unhealthy.join(", ")})` : "all"}; ${r.seconds.toFixed(1)} s; ${chaos}`
  );
}

/** The last line, exactly as issue 13 asks. */
export function summaryLine(totals: ChaosReport["totals"]): string {
  return `chaos: ${totals.passed}/${totals.run} scenarios, lost=${totals.lost} duplicated=${totals.duplicated} stuck=${totals.stuck} transient_failures=${totals.transientFailures}`;
}

export function renderMarkdown(report: ChaosReport): string {
  const rows = report.scenarios.map((r) => {
    const l = r.ledger;
    const chaos = Object.entries(r.chaos)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    return `| ${r.name} | ${l.ok ? "pass" : "**FAIL**"} | ${l.submitted} | ${l.complete} | ${l.failedPermanent} | ${l.lost} | ${l.duplicated} | ${l.reannounced} | ${l.stuck} | ${l.transientFailures} | ${l.unhealthy.length ? l.unhealthy.join(", ") : "all"} | ${r.seconds.toFixed(1)} | ${chaos} |`;
  });
  const problems = report.scenarios.flatMap((r) => r.ledger.problems.map((p) => `- ${r.name}: ${p}`));
  return [
    "# npm run chaos — latest",
    "",
    `Started ${report.startedAt}. Settings: ${Object.entries(report.settings)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
      .join(", ")}.`,
    "",
    "| scenario | ledger | submitted | complete | failed (permanent) | lost | duplicated | re-announced (publisher died) | stuck | transient failures | healthy | seconds | chaos |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ...rows,
    "",
    ...report.scenarios.map((r) => `- **${r.name}**: ${r.description}.`),
    "",
    problems.length ? `## Problems\n\n${problems.join("\n")}` : "No problems: every ledger balanced.",
    "",
    `\`${summaryLine(report.totals)}\``,
    "",
  ].join("\n");
}
