import type { Run } from "./schema.ts";

/**
 * Seconds in an ISO 8601 duration (PnW, PnDTnHnMnS). Years and months are refused: their length depends on the date.
 */
export function durationSeconds(duration: string): number {
  const match =
    /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      duration,
    );
  if (!match)
    throw new RangeError(
      `${duration} is not an ISO 8601 duration Quire can plan with (years and months are ambiguous)`,
    );
  const [, w = "0", d = "0", h = "0", m = "0", s = "0"] = match;
  return Number(w) * 604_800 + Number(d) * 86_400 + Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/** When a run must be done: its start plus the duration the caller gave; undefined without one (or unreadable). */
export function runDeadlineAt(run: Pick<Run, "startedAt" | "deadline">): Date | undefined {
  if (!run.deadline) return undefined;
  try {
    return new Date(Date.parse(run.startedAt) + durationSeconds(run.deadline) * 1000);
  } catch {
    return undefined;
  }
}
