/** Receive-error backoff: 100 ms doubling to 10 s, jittered so many runners do not retry in step. */
export const receiveBackoffMs = (attempt: number, random: () => number = Math.random) => {
  const ceiling = Math.min(10_000, 100 * 2 ** Math.min(attempt - 1, 10));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
};

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
