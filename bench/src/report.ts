import type { ScenarioResult, Sample } from "./scenario.ts";

const mb = (bytes: number | undefined) => (bytes ? `${Math.round(bytes / 1024 / 1024)} MB` : "?");
const duration = (seconds: number) =>
  seconds >= 3600
    ? `${(seconds / 3600).toFixed(2)} h`
    : seconds >= 120
      ? `${(seconds / 60).toFixed(1)} min`
      : `${seconds.toFixed(1)} s`;

export interface BenchReport {
  settings: Record<string, unknown>;
  idealSeconds: number;
  governor: ScenarioResult;
  baseline: ScenarioResult;
  sequential: { sampled: number; perDocumentSeconds: number; seconds: number; docsPerSecond: number };
  overhead?:
    | {
        documents: number;
        wallSeconds: number;
        docsPerSecond: number;
        hops: { hop: string; messages: number; msPerMessage: number }[];
        processes: ScenarioResult["processes"];
      }
    | undefined;
}

export const efficiencyOf = (idealSeconds: number, measuredSeconds: number) => idealSeconds / measuredSeconds;

/** Efficiency on completed documents only: a run that dead-letters part of its batch did less work. */
export const goodputEfficiency = (
  idealSeconds: number,
  r: Pick<ScenarioResult, "seconds" | "complete" | "documents">,
) => efficiencyOf(idealSeconds * (r.complete / r.documents), r.seconds);
/** Completed jobs without a Job Completed event (failed jobs rightly have none). */
const lostCompletions = (r: ScenarioResult) => Math.max(0, r.complete - r.completions.uniqueJobs);

/** Every document needs exactly one summary and one classification call: anything else is flagged. */
const callsPerDocument = (r: ScenarioResult) =>
  `${r.bedrock.callsPerDocument.toFixed(3)}${Math.abs(r.bedrock.callsPerDocument - 2) > 1e-9 ? " ⚠ not 2" : ""}`;

export function renderMarkdown(report: BenchReport): string {
  const { governor: a, baseline: b, sequential: c, idealSeconds } = report;
  const peak = (r: ScenarioResult) => Math.max(0, ...r.processes.map((p) => p.peakRssBytes ?? 0));
  const row = (label: string, values: string[]) => `| ${label} | ${values.join(" | ")} |`;
  const lines = [
    `# Quire bench — ${report.settings.documents} documents`,
    "",
    `Quota ${report.settings.requestsPerMinute} requests/min and ${report.settings.tokensPerMinute} tokens/min, model latency ${report.settings.latency}, time scale ${report.settings.timeScale} (every time below is scaled back to real seconds; the submission, which no time scale affects, counts as it took), ${report.settings.workersPerStage} worker processes per stage. Ideal (Little's law, from quota and latency): **${duration(idealSeconds)}**.`,
    "",
    "| | (a) Quire governor | (b) fixed concurrency | (c) sequential loop |",
    "| --- | --- | --- | --- |",
    row("what", [a.description, b.description, `one call at a time; ${c.sampled} documents measured, extrapolated`]),
    row("wall time (real)", [duration(a.seconds), duration(b.seconds), duration(c.seconds)]),
    row("documents/s", [a.docsPerSecond.toFixed(2), b.docsPerSecond.toFixed(2), c.docsPerSecond.toFixed(3)]),
    row("efficiency (ideal / measured, for the completed documents)", [
      goodputEfficiency(idealSeconds, a).toFixed(2),
      goodputEfficiency(idealSeconds, b).toFixed(2),
      efficiencyOf(idealSeconds, c.seconds).toFixed(3),
    ]),
    row("complete / failed (dead-lettered)", [`${a.complete} / ${a.failed}`, `${b.complete} / ${b.failed}`, "-"]),
    row("throttles", [String(a.bedrock.throttles), String(b.bedrock.throttles), "0"]),
    row("Bedrock calls per document (successful; must be 2)", [callsPerDocument(a), callsPerDocument(b), "2"]),
    row("Job Completed events: lost / duplicated", [
      `${lostCompletions(a)} / ${a.completions.duplicated}`,
      `${lostCompletions(b)} / ${b.completions.duplicated}`,
      "-",
    ]),
    row("job latency p50 / p95", [
      `${duration(a.jobLatencySeconds.p50)} / ${duration(a.jobLatencySeconds.p95)}`,
      `${duration(b.jobLatencySeconds.p50)} / ${duration(b.jobLatencySeconds.p95)}`,
      "-",
    ]),
    row("peak in flight at Bedrock", [String(a.bedrock.peakInFlight), String(b.bedrock.peakInFlight), "1"]),
    row("peak RSS (largest process)", [mb(peak(a)), mb(peak(b)), "-"]),
    "",
    `Ratios of wall time per completed document: **(b)/(a) = ${(b.seconds / b.complete / (a.seconds / a.complete)).toFixed(2)}**, **(c)/(a) = ${(c.seconds / a.documents / (a.seconds / a.complete)).toFixed(1)}**.`,
    "",
    `Peak RSS per process (a): ${a.processes.map((p) => `${p.name} ${mb(p.peakRssBytes)}`).join(", ")}.`,
    "",
    "Governor limits at the end of (a): " +
      a.processes
        .flatMap((p) => (p.governor ?? []).map((g) => `${p.name} ${g.limit} (${g.throttles} throttles)`))
        .join(", ") +
      ".",
  ];
  if (report.overhead) {
    const o = report.overhead;
    lines.push(
      "",
      `## Pipeline overhead (zero-latency model, no quota, ${o.documents} documents)`,
      "",
      `End to end: **${o.docsPerSecond.toFixed(1)} documents/s** (${o.wallSeconds.toFixed(1)} s wall).`,
      "",
      "| hop | messages | CPU ms per message |",
      "| --- | --- | --- |",
      ...o.hops.map((h) => `| ${h.hop} | ${h.messages} | ${h.msPerMessage.toFixed(2)} |`),
      "",
      `Peak RSS: ${o.processes.map((p) => `${p.name} ${mb(p.peakRssBytes)}`).join(", ")}.`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Rates between consecutive samples, smoothed over `window` samples. */
function rates(
  samples: readonly Sample[],
  key: "succeeded" | "throttles" | "finished",
  window = 8,
): [number, number][] {
  const points: [number, number][] = [];
  for (let i = window; i < samples.length; i++) {
    const dt = samples[i]!.t - samples[i - window]!.t;
    if (dt > 0) points.push([samples[i]!.t, (samples[i]![key] - samples[i - window]![key]) / dt]);
  }
  return points;
}

/** An SVG of in-flight calls, throughput and throttles over time for (a) and (b), no dependencies. */
export function renderChart(a: ScenarioResult, b: ScenarioResult, idealInFlight: number): string {
  const width = 900;
  const panel = 170;
  const margin = { left: 60, right: 20, top: 30 };
  const maxT = Math.max(a.samples.at(-1)?.t ?? 1, b.samples.at(-1)?.t ?? 1);
  const panels: {
    title: string;
    series: { name: string; color: string; points: [number, number][] }[];
    reference?: number;
  }[] = [
    {
      title: "in flight at Bedrock",
      series: [
        { name: "(a) governor", color: "#1f77b4", points: a.samples.map((s) => [s.t, s.inFlight]) },
        { name: "(b) fixed", color: "#d62728", points: b.samples.map((s) => [s.t, s.inFlight]) },
      ],
      reference: idealInFlight,
    },
    {
      title: "Bedrock calls answered / s",
      series: [
        { name: "(a)", color: "#1f77b4", points: rates(a.samples, "succeeded") },
        { name: "(b)", color: "#d62728", points: rates(b.samples, "succeeded") },
      ],
    },
    {
      title: "throttles / s",
      series: [
        { name: "(a)", color: "#1f77b4", points: rates(a.samples, "throttles") },
        { name: "(b)", color: "#d62728", points: rates(b.samples, "throttles") },
      ],
    },
  ];
  const height = margin.top + panels.length * (panel + 40);
  const x = (t: number) => margin.left + ((width - margin.left - margin.right) * t) / maxT;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  panels.forEach((p, i) => {
    const top = margin.top + i * (panel + 40);
    const maxY = Math.max(1, p.reference ?? 0, ...p.series.flatMap((s) => s.points.map(([, v]) => v))) * 1.1;
    const y = (v: number) => top + panel - (panel * v) / maxY;
    parts.push(`<text x="${margin.left}" y="${top - 8}" font-weight="bold">${p.title}</text>`);
    parts.push(
      `<line x1="${margin.left}" y1="${top + panel}" x2="${width - margin.right}" y2="${top + panel}" stroke="#999"/><line x1="${margin.left}" y1="${top}" x2="${margin.left}" y2="${top + panel}" stroke="#999"/>`,
    );
    parts.push(
      `<text x="${margin.left - 6}" y="${top + 10}" text-anchor="end">${maxY.toFixed(maxY < 10 ? 1 : 0)}</text><text x="${margin.left - 6}" y="${top + panel}" text-anchor="end">0</text>`,
    );
    if (p.reference)
      parts.push(
        `<line x1="${margin.left}" y1="${y(p.reference)}" x2="${width - margin.right}" y2="${y(p.reference)}" stroke="#2ca02c" stroke-dasharray="4 3"/><text x="${width - margin.right}" y="${y(p.reference) - 4}" text-anchor="end" fill="#2ca02c">ideal ${p.reference}</text>`,
      );
    p.series.forEach((s, j) => {
      if (s.points.length)
        parts.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`,
        );
      parts.push(`<text x="${width - margin.right - 160 + j * 80}" y="${top + 14}" fill="${s.color}">${s.name}</text>`);
    });
  });
  parts.push(
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">simulated minutes → ${(maxT / 60).toFixed(0)} min</text>`,
    "</svg>",
  );
  return parts.join("\n");
}
