// Admission for expensive work (password hashing): at most `concurrency` jobs run at once and the rest wait in
// line, but only while the wait fits. A job whose expected finish (the jobs ahead of it, in waves of
// `concurrency`, then its own run, at the measured average) would pass its budget is refused at once with
// 503 BUSY and a Retry-After of the time the line needs to drain: before any work is done and nothing is written,
// instead of a queue that grows without limit behind the request deadline. The estimate is checked again when a
// job leaves the line, so a job never starts when it would end past its budget, however the burst went.
import { AppError } from "./errors";

export function admission(o: { concurrency: number; maxWaitMs: number; name: string }) {
  let running = 0;
  const line: Array<() => void> = [];
  let avgMs = 0; // moving average of one job's duration, contention included; 0 until the first job ends

  /** Expected ms until a job that joined the line now would finish (every slot is taken). */
  const expectedMs = () => (Math.floor(line.length / o.concurrency) + 2) * avgMs;

  /** A job ended: its slot passes straight to the next in line, so nothing can slip in between. */
  function release() {
    const next = line.shift();
    if (next) next();
    else running--;
  }

  function busy() {
    const drainS = Math.max(1, Math.ceil(((line.length / o.concurrency + 1) * avgMs) / 1000));
    return new AppError("BUSY", `too many ${o.name} requests at once; retry in ${drainS} s`, undefined, {
      "Retry-After": String(drainS),
    });
  }

  async function run<T>(job: () => Promise<T>, budgetMs = o.maxWaitMs): Promise<T> {
    // a free slot always takes the job: the job itself measures again (an average inflated by one stalled job
    // must not refuse everyone for ever)
    if (running < o.concurrency && !line.length) running++;
    else {
      const limitMs = Math.min(budgetMs, o.maxWaitMs);
      if (expectedMs() > limitMs) throw busy();
      const until = performance.now() + limitMs;
      await new Promise<void>((r) => line.push(r)); // resolved holding the slot of the job that ended
      // the estimate at arrival may have been too kind (a burst slows every job down): a job that would now end
      // past its time is refused before it starts, and its slot goes to the next one in line
      if (performance.now() + avgMs > until) {
        release();
        throw busy();
      }
    }
    const started = performance.now();
    try {
      return await job();
    } finally {
      const ms = performance.now() - started;
      avgMs = avgMs ? avgMs * 0.8 + ms * 0.2 : ms;
      release();
    }
  }

  return {
    run,
    /** Runs the job only when a slot is free and nobody waits (work that may as well happen later); else false. */
    whenIdle(job: () => Promise<unknown>): boolean {
      if (running >= o.concurrency || line.length) return false;
      void run(job).catch(() => {});
      return true;
    },
    /** Seeds the average (e.g. with a hash timed at start), so the first burst is judged by a real figure. */
    calibrate(ms: number) {
      avgMs ||= ms;
    },
    stats: () => ({ running, waiting: line.length, avgMs }),
  };
}
