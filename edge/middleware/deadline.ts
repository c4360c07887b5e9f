// Request time limit: `race(work)` rejects with 504 TIMEOUT when the work is still running after `ms` (the
// work is not cancelled; the answer just stops waiting). A timer per request costs more than the rest of a
// cached GET, so requests share one ticker: each waits in the slot of its deadline, rounded up to a tick,
// and the ticker fails the slots that are due. A deadline is therefore met within one tick late.
import { AppError } from "../errors";

export function deadline(ms: number, tickMs = 100) {
  const slots = new Map<number, Set<(err: AppError) => void>>();
  let ticker: Timer | undefined;
  function tick() {
    const now = Date.now();
    for (const [due, waiting] of slots) {
      if (due > now) continue;
      slots.delete(due);
      for (const fail of waiting) fail(new AppError("TIMEOUT", `no answer within ${ms} ms`));
    }
    if (!slots.size) {
      clearInterval(ticker);
      ticker = undefined;
    }
  }
  return {
    race<T>(work: Promise<T>): Promise<T> {
      const due = Math.ceil((Date.now() + ms) / tickMs) * tickMs;
      let waiting = slots.get(due);
      if (!waiting) slots.set(due, (waiting = new Set()));
      ticker ??= setInterval(tick, tickMs);
      const w = waiting;
      return new Promise<T>((resolve, reject) => {
        w.add(reject);
        const done = () => {
          w.delete(reject);
          if (!w.size && slots.get(due) === w) slots.delete(due);
        };
        work.then(
          (v) => (done(), resolve(v)),
          (err) => (done(), reject(err)),
        );
      });
    },
    /** Requests waiting on a deadline. */
    pending: () => [...slots.values()].reduce((n, s) => n + s.size, 0),
  };
}
