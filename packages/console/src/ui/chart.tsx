import { count, duration } from "./format.ts";

export interface Sample {
  /** ms since the epoch */
  at: number;
  finished: number;
}

const W = 640;
const H = 220;
const PAD = { left: 56, right: 16, top: 12, bottom: 28 };

/**
 * A run's progress as a chart: documents finished over time (the samples this page took, from
 * the run's start), the projection to the ETA at the measured rate, and the deadline. Plain SVG:
 * a charting library would cost more than the rest of the console.
 */
export function ProgressChart({
  startedAt,
  total,
  samples,
  eta,
  deadlineAt,
  now,
}: {
  startedAt: number;
  total: number;
  samples: Sample[];
  eta: number | undefined;
  deadlineAt: number | undefined;
  now: number;
}) {
  const last = samples[samples.length - 1];
  // The time axis covers the run so far and its projection; a deadline far beyond that would
  // squeeze the run into a corner, so it is drawn only when near, and named at the edge otherwise.
  const runEnd = Math.max(now, eta ?? 0, startedAt + 1000);
  const deadlineNear = deadlineAt !== undefined && deadlineAt - startedAt <= 2 * (runEnd - startedAt);
  const end = deadlineNear ? Math.max(runEnd, deadlineAt) : runEnd;
  const x = (at: number) => PAD.left + ((at - startedAt) / (end - startedAt)) * (W - PAD.left - PAD.right);
  const y = (n: number) => H - PAD.bottom - (n / Math.max(1, total)) * (H - PAD.top - PAD.bottom);
  const points = [{ at: startedAt, finished: 0 }, ...samples].map(
    (s) => `${x(s.at).toFixed(1)},${y(s.finished).toFixed(1)}`,
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(total * f));
  const label = `Documents finished over time: ${last ? count(last.finished) : 0} of ${count(total)} after ${duration((last?.at ?? now) - startedAt)}${eta ? `; at this rate all by ${duration(eta - startedAt)}` : ""}.`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} class="grid" />
            <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end">
              {count(t)}
            </text>
          </g>
        ))}
        <text x={PAD.left} y={H - 8}>
          0
        </text>
        <text x={W - PAD.right} y={H - 8} text-anchor="end">
          {duration(end - startedAt)}
        </text>
        {deadlineAt && !deadlineNear ? (
          <text x={W - PAD.right} y={PAD.top + 10} text-anchor="end" class="deadline-label">
            deadline at {duration(deadlineAt - startedAt)} →
          </text>
        ) : null}
        {deadlineAt && deadlineNear ? (
          <g>
            <line x1={x(deadlineAt)} x2={x(deadlineAt)} y1={PAD.top} y2={H - PAD.bottom} class="deadline" />
            <text x={x(deadlineAt) - 4} y={PAD.top + 10} text-anchor="end" class="deadline-label">
              deadline
            </text>
          </g>
        ) : null}
        {last && eta && last.finished < total ? (
          <line x1={x(last.at)} y1={y(last.finished)} x2={x(eta)} y2={y(total)} class="projection" />
        ) : null}
        <polyline points={points.join(" ")} class="progress" />
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** Documents per second between consecutive samples, as bars. */
export function RateChart({ samples }: { samples: Sample[] }) {
  const rates = samples.slice(1).map((s, i) => {
    const previous = samples[i]!;
    return { at: s.at, rate: ((s.finished - previous.finished) * 1000) / Math.max(1, s.at - previous.at) };
  });
  const recent = rates.slice(-60);
  const top = Math.max(1, ...recent.map((r) => r.rate));
  const barWidth = (W - PAD.left - PAD.right) / Math.max(1, recent.length);
  const y = (rate: number) => H / 2 - PAD.bottom - (rate / top) * (H / 2 - PAD.top - PAD.bottom);
  const current = recent[recent.length - 1]?.rate ?? 0;
  const label = `Throughput, documents per second, over the last ${recent.length} samples; now ${current.toFixed(1)}, peak ${top.toFixed(1)}.`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H / 2}`} role="img" aria-label={label}>
        <text x={PAD.left - 6} y={y(top) + 4} text-anchor="end">
          {top.toFixed(1)}/s
        </text>
        <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} class="grid" />
        {recent.map((r, i) => (
          <rect
            key={r.at}
            x={PAD.left + i * barWidth + 1}
            width={Math.max(1, barWidth - 2)}
            y={y(r.rate)}
            height={Math.max(0, y(0) - y(r.rate))}
            class="bar"
          />
        ))}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}
