import type { DeliveryView, JobView, RunView, SubscriptionView } from "./client.ts";

const firstLine = (text: string, max = 100) => {
  const line = text.split("\n").find((l) => l.trim()) ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

export function jobLine(job: JobView): string {
  const title = job.title ? ` "${job.title}"` : "";
  if (job.status === "complete") {
    return `${job.jobId} complete ${job.classification?.label ?? "?"}${title}${job.summary ? ` — ${firstLine(job.summary.text)}` : ""}`;
  }
  if (job.status === "failed")
    return `${job.jobId} failed ${job.error?.code ?? ""}${title}${job.error ? ` — ${job.error.message}` : ""}`;
  return `${job.jobId} ${job.status}${title}`;
}

const clock = (iso: string) => new Date(iso).toLocaleTimeString("en-GB", { hour12: false });

/** One line of run progress: `run_…  123/10000 complete, 2 failed, 4.1 docs/s, ETA 12:34:56`. */
export function runLine(run: RunView): string {
  const { total, complete, failed } = run.counts;
  const rate = Math.round(run.throughput.documentsPerSecond * 10) / 10;
  return `${run.runId}  ${complete}/${total} complete, ${failed} failed, ${rate} docs/s${run.eta && run.status !== "complete" ? `, ETA ${clock(run.eta)}` : ""}`;
}

/** What `quire status run_…` adds under the progress line. */
export function runDetailLines(run: RunView): string[] {
  const { pending, processing } = run.counts;
  return [
    `  ${run.status}: ${pending} pending, ${processing} processing; started ${run.startedAt}${run.completedAt ? `, completed ${run.completedAt}` : ""}`,
  ];
}

export function classificationLines(counts: Record<string, number>): string[] {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([label, n]) => `  ${label.padEnd(20)} ${n}`);
}

/** Aligned columns, like `kubectl get`. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export const subscriptionRow = (s: SubscriptionView) => [
  s.id,
  s.kind,
  s.kind === "webhook" ? s.url : `${s.address}${s.mode ? ` (${s.mode})` : ""}`,
  s.events.join(","),
  s.status === "disabled" && s.disabledReason ? `disabled: ${s.disabledReason.code}` : s.status,
];

export const deliveryRow = (d: DeliveryView) => [
  d.id,
  d.eventType,
  d.status,
  String(d.attempts),
  d.lastAttempt
    ? `${d.lastAttempt.statusCode ?? d.lastAttempt.error?.code ?? d.lastAttempt.outcome} ${d.lastAttempt.latencyMs}ms`
    : "-",
  d.nextAttemptAt ?? "",
];

/** One line per event `quire listen` receives. */
// biome-ignore lint/suspicious/noExplicitAny: any event's data (job, run, ping), whose fields the cases below read by type.
export function eventLine(event: { type: string; data: Record<string, any> }): string {
  const d = event.data;
  switch (event.type) {
    case "job.completed":
      return `job.completed ${d.jobId} ${d.classification?.label ?? "?"}${d.title ? ` "${d.title}"` : ""}${d.summary?.text ? ` — ${firstLine(d.summary.text, 80)}` : ""}`;
    case "job.failed":
      return `job.failed ${d.jobId} ${d.reason?.code ?? "FAILED"}${d.title ? ` "${d.title}"` : ""}`;
    case "run.completed":
      return `run.completed ${d.runId} ${d.completed}/${d.total} complete${d.failed ? `, ${d.failed} failed` : ""}`;
    case "ping":
      return `ping ${typeof d.message === "string" ? d.message : JSON.stringify(d)}`;
    default:
      return `${event.type} ${JSON.stringify(d)}`;
  }
}
