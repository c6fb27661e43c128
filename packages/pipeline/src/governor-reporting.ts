import type { Governor } from "@quire/bedrock";
import type { GovernorReportStore } from "@quire/jobs";

/**
 * Every `everyMs`, this process's governor figures per model go to the jobs table (one PutItem
 * per model: a few a minute per process), so the API can show every process's governor without
 * calling any of them — services talk only through shared resources. A report fails quietly: it
 * is a view, and the next one replaces it. The timer never keeps a process alive.
 */
export function startGovernorReporting(options: {
  governor: Governor;
  store: GovernorReportStore;
  processId: string;
  /** The services this process hosts (read at each report: stages may join after it starts). */
  services: () => string[];
  everyMs: number;
  now?: () => number;
}): { stop(): Promise<void>; reportNow(): Promise<void> } {
  const now = options.now ?? Date.now;
  let reporting = false;
  async function reportNow() {
    if (reporting) return;
    reporting = true;
    try {
      await Promise.all(
        options.governor.stats().map((stats) =>
          options.store
            .report(
              {
                processId: options.processId,
                service: options.services().join(","),
                modelId: stats.modelId,
                limit: stats.limit,
                inFlight: stats.inFlight,
                waiting: stats.waiting,
                successes: stats.successes,
                throttles: stats.throttles,
                errors: stats.errors,
                share: stats.share,
                scale: stats.scale,
                circuit: stats.circuit,
                reportedAt: now(),
              },
              // A report outlives a few missed intervals, then expires with its process.
              options.everyMs * 6,
            )
            .catch(() => {}),
        ),
      );
    } finally {
      reporting = false;
    }
  }
  const timer = setInterval(() => void reportNow(), options.everyMs);
  timer.unref();
  return {
    /** No more reports, and this process's are taken away: the API shows live processes only. */
    async stop() {
      clearInterval(timer);
      await Promise.all(
        options.governor
          .stats()
          .map((stats) => options.store.withdraw(options.processId, stats.modelId).catch(() => {})),
      );
    },
    reportNow,
  };
}
