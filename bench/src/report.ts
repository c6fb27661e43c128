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
  sequential: {
    sampled: number;
    perDocumentSeconds: number;
    seconds: number;
    docsPerSecond: number;
    /** The sample's cost on demand, extrapolated to every document. Absent from older results. */
    costUsd?: number;
  };
  /** (d) The same documents through Bedrock batch inference (`mode: "batch"`). Absent from older results. */
  batch?: ScenarioResult | undefined;
  overhead?:
    | {
        documents: number;
        wallSeconds: number;
        docsPerSecond: number;
        hops: { hop: string; messages: number; msPerMessage: number }[];
        processes: ScenarioResult["processes"];
        /** AWS requests by `service:Operation` over the run (see ScenarioResult.requests). */
        requests?: Record<string, number>;
      }
    | undefined;
  /** The safety net's scenarios: a quota configured wrong, a foreign client (see main.ts). */
  adaptation?: AdaptationResult[] | undefined;
}

export interface AdaptationResult extends ScenarioResult {
  /** What the services were told the quota is (the real one: settings.requestsPerMinute). */
  configuredRequestsPerMinute: number;
}

interface QuotaSettings {
  requestsPerMinute: number;
  latencyMeanMs: number;
}

/** The requests per minute left to the pipeline at simulated second `t`. */
const availableAt = (r: AdaptationResult, settings: QuotaSettings, t: number) =>
  r.foreign && t >= r.foreign.fromSeconds
    ? settings.requestsPerMinute - r.foreign.requestsPerMinute
    : settings.requestsPerMinute;

/** Little's-law ideal for a scenario: its calls at the quota left to it, then the last call's latency. */
export function adaptationIdealSeconds(r: AdaptationResult, settings: QuotaSettings): number {
  const calls = 2 * r.documents;
  const latency = settings.latencyMeanMs / 1000;
  if (!r.foreign) return (calls / settings.requestsPerMinute) * 60 + latency;
  const before = Math.min(calls, (settings.requestsPerMinute * r.foreign.fromSeconds) / 60);
  const left = settings.requestsPerMinute - r.foreign.requestsPerMinute;
  return (
    Math.min(r.foreign.fromSeconds, (calls / settings.requestsPerMinute) * 60) +
    ((calls - before) / left) * 60 +
    latency
  );
}

/**
 * How long after the disturbance the pipeline was adapted: the start of the first minute from
 * which every later minute (until the backlog runs out) answered at least 85 % of the quota left
 * to it, with throttles under 5 % of it. The disturbance: the foreign client's arrival; for a
 * quota configured wrong, the governor's first call (the sample before the first with a call in
 * flight or answered) — before it the pipeline is still starting, and there is nothing to learn from.
 */
export function adaptedAfterSeconds(r: AdaptationResult, settings: QuotaSettings): number | undefined {
  const samples = r.samples;
  const firstCall = samples.findIndex((s) => s.inFlight > 0 || s.succeeded > 0 || s.throttles > 0);
  const from = r.foreign?.fromSeconds ?? (firstCall > 0 ? samples[firstCall - 1]!.t : 0);
  const end = samples.find((s) => s.finished >= 0.95 * r.documents)?.t ?? samples.at(-1)?.t ?? 0;
  const at = (t: number) => samples.find((s) => s.t >= t) ?? samples.at(-1)!;
  const minuteOk = (t: number) => {
    const a = at(t - 60);
    const b = at(t);
    const available = availableAt(r, settings, t - 60);
    return b.succeeded - a.succeeded >= 0.85 * available && b.throttles - a.throttles <= 0.05 * available;
  };
  const ends = samples.map((s) => s.t).filter((t) => t >= from + 60 && t <= end);
  let adaptedAt: number | undefined;
  for (const t of ends) {
    if (minuteOk(t)) adaptedAt ??= t - 60;
    else adaptedAt = undefined;
  }
  return adaptedAt === undefined ? undefined : Math.max(0, adaptedAt - from);
}

/** Calls in flight the quota sustains (Little's law): RPM × latency. */
const needInFlight = (settings: QuotaSettings) => (settings.requestsPerMinute * settings.latencyMeanMs) / 60_000;

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

/** Dollars as the bench prints them: small amounts keep four significant digits. */
const usd = (value: number) => `$${value >= 100 ? value.toFixed(2) : value.toPrecision(4)}`;
const costCell = (r: ScenarioResult) =>
  r.cost ? `${usd(r.cost.countedUsd)} / ${r.cost.billedUsd === undefined ? "-" : usd(r.cost.billedUsd)}` : "-";
const perThousand = (r: ScenarioResult) =>
  r.cost && r.complete > 0 ? usd((r.cost.countedUsd / r.complete) * 1000) : "-";

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
    row("throttles per successful call", [
      (a.bedrock.throttles / Math.max(1, a.bedrock.succeeded)).toFixed(4),
      (b.bedrock.throttles / Math.max(1, b.bedrock.succeeded)).toFixed(4),
      "0",
    ]),
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
    row("peak in flight at Bedrock (× the Little's-law need)", [
      `${a.bedrock.peakInFlight} (${(a.bedrock.peakInFlight / needInFlight(report.settings as unknown as QuotaSettings)).toFixed(2)}×)`,
      `${b.bedrock.peakInFlight} (${(b.bedrock.peakInFlight / needInFlight(report.settings as unknown as QuotaSettings)).toFixed(2)}×)`,
      "1",
    ]),
    row("model cost on demand: counted by Quire / billed for the successful calls", [
      costCell(a),
      costCell(b),
      c.costUsd === undefined ? "-" : `${usd(c.costUsd)} (sample, extrapolated)`,
    ]),
    row("model cost per 1,000 documents", [
      perThousand(a),
      perThousand(b),
      c.costUsd === undefined ? "-" : usd((c.costUsd / a.documents) * 1000),
    ]),
    row("AWS requests / DynamoDB writes per document", [requestCell(a), requestCell(b), "-"]),
    row("peak RSS (largest process)", [mb(peak(a)), mb(peak(b)), "-"]),
    "",
    `Ratios of wall time per completed document: **(b)/(a) = ${(b.seconds / b.complete / (a.seconds / a.complete)).toFixed(2)}**, **(c)/(a) = ${(c.seconds / a.documents / (a.seconds / a.complete)).toFixed(1)}**.`,
    "",
    `Peak RSS per process (a): ${a.processes.map((p) => `${p.name} ${mb(p.peakRssBytes)}`).join(", ")}.`,
    "",
    "Governors at the end of (a) — in-flight limit, share of the quota, scale (the quota as learned against the configured one), throttles: " +
      a.processes
        .flatMap((p) =>
          (p.governor ?? []).map(
            (g) => `${p.name} ${g.limit} / ${g.share ?? 1} / ${g.scale ?? 1} (${g.throttles} throttles)`,
          ),
        )
        .join(", ") +
      ".",
  ];
  if (report.batch) lines.push("", ...renderBatch(report.batch, a));
  if (report.adaptation?.length) {
    const settings = report.settings as unknown as QuotaSettings;
    lines.push(
      "",
      `## The safety net: a quota configured wrong, a foreign client (${report.adaptation[0]!.documents} documents each)`,
      "",
      "Efficiency against the ideal for the quota really left to the pipeline. Adapted: the start of the first minute after the disturbance (the foreign client's arrival; for a wrong quota, the first call to the model) from which every minute answered ≥ 85 % of that quota with throttles under 5 % of it.",
      "",
      "| scenario | configured / real RPM | wall time | efficiency | complete / failed | throttles per successful call | calls per document | peak in flight | adapted after | model cost (counted / billed) |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...report.adaptation.map((r) => {
        const adapted = adaptedAfterSeconds(r, settings);
        const real = r.foreign
          ? `${settings.requestsPerMinute} → ${settings.requestsPerMinute - r.foreign.requestsPerMinute} at ${duration(r.foreign.fromSeconds)}`
          : String(settings.requestsPerMinute);
        return `| ${r.name} | ${r.configuredRequestsPerMinute} / ${real} | ${duration(r.seconds)} | ${goodputEfficiency(adaptationIdealSeconds(r, settings), r).toFixed(2)} | ${r.complete} / ${r.failed} | ${(r.bedrock.throttles / Math.max(1, r.bedrock.succeeded)).toFixed(4)} | ${callsPerDocument(r)} | ${r.bedrock.peakInFlight} | ${adapted === undefined ? "not within the run" : duration(adapted)} | ${costCell(r)} |`;
      }),
    );
  }
  if (report.overhead) {
    const o = report.overhead;
    lines.push(
      "",
      `## Pipeline overhead (zero-latency model, no quota, ${o.documents} documents)`,
      "",
      `End to end: **${o.docsPerSecond.toFixed(1)} documents/s** (${o.wallSeconds.toFixed(1)} s wall).`,
      "",
      ...overheadGoals(o),
      "",
      "| hop | messages | CPU ms per message |",
      "| --- | --- | --- |",
      ...o.hops.map((h) => `| ${h.hop} | ${h.messages} | ${h.msPerMessage.toFixed(2)} |`),
      "",
      `Peak RSS: ${o.processes.map((p) => `${p.name} ${mb(p.peakRssBytes)}`).join(", ")}.`,
      ...(o.requests ? ["", ...requestsPerDocument(o.requests, o.documents)] : []),
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The overhead goals (issue 17) beside what this run measured and the figures the goals were set
 * against (2-core machine, zero-latency model, 2026-12-01): met, or the distance.
 */
export const OVERHEAD_GOALS = {
  docsPerSecond: { goal: 100, before: "16.9–20.3" },
  cpuMsPerStageMessage: { goal: 5, before: "summarizer 14.9, classifier 13.6" },
  peakRssMb: { goal: 200, before: "330–556" },
} as const;

function overheadGoals(o: NonNullable<BenchReport["overhead"]>): string[] {
  const stageHops = o.hops.filter((h) => /^(summarizer|classifier):/.test(h.hop));
  const cpu = Math.max(0, ...stageHops.map((h) => h.msPerMessage));
  const peakMb = (processes: typeof o.processes) =>
    Math.max(0, ...processes.map((p) => p.peakRssBytes ?? 0)) / 1024 / 1024;
  // Apart: ingestion's peak is the POST /v1/runs body of the whole run (its documents, parsed, and
  // their jobs), which grows with the run; the consumers' is what handling messages costs.
  const consumers = o.processes.filter((p) => !p.name.startsWith("devcloud") && p.name !== "ingestion");
  const ingestion = o.processes.filter((p) => p.name === "ingestion");
  const rss = peakMb(consumers);
  const ingestionRss = peakMb(ingestion);
  const verdict = (met: boolean, distance: string) => (met ? "met" : `not met: ${distance}`);
  const g = OVERHEAD_GOALS;
  return [
    "| goal | this run | before (2026-12-01) | |",
    "| --- | --- | --- | --- |",
    `| ≥ ${g.docsPerSecond.goal} documents/s end to end | ${o.docsPerSecond.toFixed(1)} | ${g.docsPerSecond.before} | ${verdict(o.docsPerSecond >= g.docsPerSecond.goal, `${(g.docsPerSecond.goal / o.docsPerSecond).toFixed(1)}× short`)} |`,
    `| ≤ ${g.cpuMsPerStageMessage.goal} ms CPU per stage message (the dearer stage) | ${cpu.toFixed(2)} | ${g.cpuMsPerStageMessage.before} | ${verdict(cpu <= g.cpuMsPerStageMessage.goal, `${(cpu / g.cpuMsPerStageMessage.goal).toFixed(1)}× over`)} |`,
    `| ≤ ${g.peakRssMb.goal} MB peak RSS per service process: the consumers (stages, notifier, batcher) | ${rss.toFixed(0)} | ${g.peakRssMb.before} | ${verdict(rss <= g.peakRssMb.goal, `${(rss / g.peakRssMb.goal).toFixed(1)}× over`)} |`,
    ...(ingestion.length
      ? [
          `| ≤ ${g.peakRssMb.goal} MB peak RSS per service process: ingestion (holds the whole run's request body while it submits) | ${ingestionRss.toFixed(0)} | ${g.peakRssMb.before} | ${verdict(ingestionRss <= g.peakRssMb.goal, `${(ingestionRss / g.peakRssMb.goal).toFixed(1)}× over`)} |`,
        ]
      : []),
  ];
}

/** (d): the run through batch inference beside (a) on demand — above all, what each costs. */
function renderBatch(d: ScenarioResult, a: ScenarioResult): string[] {
  const batch = d.batch;
  const perDocument = (r: ScenarioResult) => (r.cost && r.complete > 0 ? r.cost.countedUsd / r.complete : undefined);
  const [costD, costA] = [perDocument(d), perDocument(a)];
  const onDemandCalls = d.bedrock.succeeded;
  return [
    `## (d) Batch inference (\`mode: "batch"\`, ${d.documents} documents)`,
    "",
    "The same documents as (a) through Bedrock batch inference on devcloud: one batch job per stage, the answers into the result cache, the stages completing every job from it; records the batch refused (1 % here) run on demand. The batch's duration is devcloud's model of one (queued, then 20 records/s), not AWS's, which gives no promise beyond the job's timeout: compare cost, calls and completions, not time.",
    "",
    "| | (d) batch | (a) on demand |",
    "| --- | --- | --- |",
    `| wall time (real) | ${duration(d.seconds)} | ${duration(a.seconds)} |`,
    `| complete / failed | ${d.complete} / ${d.failed} | ${a.complete} / ${a.failed} |`,
    `| batch jobs (state) | ${batch ? batch.jobs.join(", ") || "none" : "-"} | - |`,
    `| records answered by the batch / in it | ${batch ? `${batch.answered} / ${batch.records}` : "-"} | - |`,
    `| Converse calls on demand (successful) per document | ${(onDemandCalls / d.documents).toFixed(3)} | ${(a.bedrock.succeeded / a.documents).toFixed(3)} |`,
    `| Job Completed events: lost / duplicated | ${lostCompletions(d)} / ${d.completions.duplicated} | ${lostCompletions(a)} / ${a.completions.duplicated} |`,
    `| model cost: counted by Quire / billed (batch tokens at the batch rate, calls on demand) | ${costCell(d)} | ${costCell(a)} |`,
    `| model cost per 1,000 documents | ${perThousand(d)} | ${perThousand(a)} |`,
    `| AWS requests / DynamoDB writes per document | ${requestCell(d)} | ${requestCell(a)} |`,
    "",
    costD !== undefined && costA !== undefined && costA > 0
      ? `Batch costs **${(costD / costA).toFixed(2)}×** on demand per completed document.`
      : "Batch and on-demand cost not both measured.",
  ];
}

/** Requests and DynamoDB writes per document of a scenario, `12.3 / 4.5`. */
function requestCell(r: ScenarioResult): string {
  if (!r.requests) return "-";
  const { total, writes } = requestTotals(r.requests);
  return `${(total / r.documents).toFixed(1)} / ${(writes / r.documents).toFixed(1)}`;
}

const DYNAMODB_WRITES = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];

/** All the requests, and the DynamoDB writes among them (each a write unit or more in AWS). */
function requestTotals(requests: Record<string, number>): { total: number; writes: number } {
  let total = 0;
  let writes = 0;
  for (const [key, n] of Object.entries(requests)) {
    total += n;
    if (key.startsWith("dynamodb:") && DYNAMODB_WRITES.includes(key.slice("dynamodb:".length))) writes += n;
  }
  return { total, writes };
}

/**
 * AWS requests per document, as devcloud served them: in all, DynamoDB writes apart (each a write
 * unit or more in AWS), and the operations that make most of them. Fewer is cheaper in AWS too.
 */
export function requestsPerDocument(requests: Record<string, number>, documents: number): string[] {
  const per = (n: number) => (n / Math.max(1, documents)).toFixed(2);
  const { total, writes } = requestTotals(requests);
  const top = Object.entries(requests)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([key, n]) => `| ${key} | ${per(n)} |`);
  return [
    `AWS requests per document: **${per(total)}**, of which DynamoDB writes **${per(writes)}** (devcloud's count, the bench's polling of the run included).`,
    "",
    "| request | per document |",
    "| --- | --- |",
    ...top,
  ];
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

interface Panel {
  title: string;
  series: { name: string; color: string; points: [number, number][] }[];
  reference?: { value: number; label: string };
}

/** Throttles per successful call over time (both smoothed the same way). */
function throttlesPerCall(samples: readonly Sample[]): [number, number][] {
  // 10 s (of the bench's sampling) where a run is long enough: a ratio of two noisy rates.
  const window = Math.min(40, Math.max(1, Math.floor(samples.length / 10)));
  const ok = rates(samples, "succeeded", window);
  const thr = rates(samples, "throttles", window);
  return ok.map(([t, v], i) => [t, v > 0 ? thr[i]![1] / v : 0]);
}

/** An SVG of in-flight calls, throughput and throttles over time for (a) and (b), no dependencies. */
export function renderChart(a: ScenarioResult, b: ScenarioResult, idealInFlight: number): string {
  return renderPanels(
    [
      {
        title: "in flight at Bedrock, against the Little's-law need",
        series: [
          { name: "(a) governor", color: "#1f77b4", points: a.samples.map((s) => [s.t, s.inFlight]) },
          { name: "(b) fixed", color: "#d62728", points: b.samples.map((s) => [s.t, s.inFlight]) },
        ],
        reference: { value: idealInFlight, label: `need ${idealInFlight}` },
      },
      {
        title: "Bedrock calls answered / s",
        series: [
          { name: "(a)", color: "#1f77b4", points: rates(a.samples, "succeeded") },
          { name: "(b)", color: "#d62728", points: rates(b.samples, "succeeded") },
        ],
      },
      {
        title: "throttles per successful call",
        series: [
          { name: "(a)", color: "#1f77b4", points: throttlesPerCall(a.samples) },
          { name: "(b)", color: "#d62728", points: throttlesPerCall(b.samples) },
        ],
      },
    ],
    Math.max(a.samples.at(-1)?.t ?? 1, b.samples.at(-1)?.t ?? 1),
  );
}

/** The adaptation scenarios: each one's in-flight calls against the need, and its answered calls against the quota left to it. */
export function renderAdaptationChart(report: BenchReport): string {
  const settings = report.settings as unknown as QuotaSettings;
  const runs = report.adaptation ?? [];
  const colors = ["#1f77b4", "#d62728", "#9467bd"];
  const need = needInFlight(settings);
  return renderPanels(
    [
      {
        title: "in flight at Bedrock, against the need for the real quota",
        series: runs.map((r, i) => ({
          name: r.name,
          color: colors[i % colors.length]!,
          points: r.samples.map((s) => [s.t, s.inFlight]),
        })),
        reference: { value: Number(need.toFixed(1)), label: `need ${need.toFixed(0)}` },
      },
      {
        title: "Bedrock calls answered / min (the foreign client's not counted)",
        series: runs.map((r, i) => ({
          name: r.name,
          color: colors[i % colors.length]!,
          points: rates(r.samples, "succeeded", 40).map(([t, v]) => [t, v * 60]),
        })),
        reference: { value: settings.requestsPerMinute, label: `quota ${settings.requestsPerMinute}/min` },
      },
      {
        title: "throttles per successful call",
        series: runs.map((r, i) => ({
          name: r.name,
          color: colors[i % colors.length]!,
          points: throttlesPerCall(r.samples),
        })),
      },
    ],
    Math.max(1, ...runs.map((r) => r.samples.at(-1)?.t ?? 1)),
  );
}

function renderPanels(panels: Panel[], maxT: number): string {
  const width = 900;
  const panel = 170;
  const margin = { left: 60, right: 20, top: 30 };
  const height = margin.top + panels.length * (panel + 40);
  const x = (t: number) => margin.left + ((width - margin.left - margin.right) * t) / maxT;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  panels.forEach((p, i) => {
    const top = margin.top + i * (panel + 40);
    const maxY = Math.max(1e-3, p.reference?.value ?? 0, ...p.series.flatMap((s) => s.points.map(([, v]) => v))) * 1.1;
    const y = (v: number) => top + panel - (panel * v) / maxY;
    parts.push(`<text x="${margin.left}" y="${top - 8}" font-weight="bold">${p.title}</text>`);
    parts.push(
      `<line x1="${margin.left}" y1="${top + panel}" x2="${width - margin.right}" y2="${top + panel}" stroke="#999"/><line x1="${margin.left}" y1="${top}" x2="${margin.left}" y2="${top + panel}" stroke="#999"/>`,
    );
    parts.push(
      `<text x="${margin.left - 6}" y="${top + 10}" text-anchor="end">${maxY.toFixed(maxY < 1 ? 3 : maxY < 10 ? 1 : 0)}</text><text x="${margin.left - 6}" y="${top + panel}" text-anchor="end">0</text>`,
    );
    if (p.reference)
      parts.push(
        `<line x1="${margin.left}" y1="${y(p.reference.value)}" x2="${width - margin.right}" y2="${y(p.reference.value)}" stroke="#2ca02c" stroke-dasharray="4 3"/><text x="${width - margin.right}" y="${y(p.reference.value) - 4}" text-anchor="end" fill="#2ca02c">${p.reference.label}</text>`,
      );
    p.series.forEach((s, j) => {
      if (s.points.length)
        parts.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`,
        );
      parts.push(`<text x="${margin.left + 10 + j * 240}" y="${top + 14}" fill="${s.color}">${s.name}</text>`);
    });
  });
  parts.push(
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">simulated minutes → ${(maxT / 60).toFixed(0)} min</text>`,
    "</svg>",
  );
  return parts.join("\n");
}
