/** Virtual time: timers run in order when the test advances the clock; no wall-clock waits. */
export function virtualTime() {
  let now = 0;
  let seq = 0;
  const timers: { at: number; seq: number; run: () => void; cancelled: boolean }[] = [];
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => now,
    schedule(delayMs: number, run: () => void) {
      const timer = { at: now + Math.max(0, delayMs), seq: seq++, run, cancelled: false };
      timers.push(timer);
      return {
        cancel: () => {
          timer.cancelled = true;
        },
      };
    },
    sleep(ms: number) {
      return new Promise<void>((resolve) => this.schedule(ms, resolve));
    },
    async advanceTo(target: number) {
      await flush();
      for (;;) {
        const due = timers
          .filter((t) => !t.cancelled && t.at <= target)
          .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (!due) break;
        timers.splice(timers.indexOf(due), 1);
        now = due.at;
        due.run();
        await flush();
      }
      now = target;
      await flush();
    },
  };
}

export type VirtualTime = ReturnType<typeof virtualTime>;
