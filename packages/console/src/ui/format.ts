const numberFormat = new Intl.NumberFormat("en");
/** $0.000725 — runs of cheap models cost fractions of a cent per document, so small amounts keep their digits. */
export const dollars = (usd: number) =>
  `$${
    usd >= 1
      ? usd.toFixed(2)
      : usd
          .toPrecision(3)
          .replace(/(\.\d*?)0+$/, "$1")
          .replace(/\.$/, "")
  }`;
export const count = (n: number) => numberFormat.format(n);
export const percent = (part: number, whole: number) => (whole === 0 ? "0 %" : `${Math.floor((part / whole) * 100)} %`);

/** 2026-12-02 06:31:07 in the viewer's zone: the date and seconds both matter when reading a run. */
export function time(iso: string | undefined): string {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/** 1 h 02 min, 3 min 05 s, 12 s. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

export const between = (from: string | undefined, to: string | undefined) =>
  from && to ? duration(Date.parse(to) - Date.parse(from)) : "—";
