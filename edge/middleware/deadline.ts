// Request time limit: `race(work)` rejects with 504 TIMEOUT when the work is still running after `ms` (the
// work is not cancelled; the answer just stops waiting). A timer per request costs more than the rest of a
// cached GET, so requests share one ticker: each waits in the slot of its deadline, rounded up to a tick,
// and the ticker fails the slots that are due. A deadline is therefore met within one tick late. A request
// may hold its deadline off while it commits (`mayExpire` answers false): it is then checked again a tick later,
// so a write is never committed behind an answer that said it failed.
import { AppError } from "../errors";

type Entry = { due: number; expire: () => void };

export function deadline(ms: number, tickMs = 100) {
  const slots = new Map<number, Set<Entry>>();
  const enter = (e: Entry, due: number) => {
    e.due = due;
    let waiting = slots.get(due);
    if (!waiting) {
      waiting = new Set();
      slots.set(due, waiting);
    }
    waiting.add(e);
  };
  const leave = (e: Entry) => {
    const w = slots.get(e.due);
    if (w?.delete(e) && !w.size) slots.delete(e.due);
  };
  let ticker: Timer | undefined;
  function tick() {
    const now = Date.now();
    for (const [due, waiting] of slots) {
      if (due > now) continue;
      slots.delete(due);
      for (const e of waiting) e.expire();
    }
    if (!slots.size) {
      clearInterval(ticker);
      ticker = undefined;
    }
  }
  return {
    /** `mayExpire`: asked when the deadline is due; false puts it off by one tick (a commit in progress). */
    race<T>(work: Promise<T>, mayExpire?: () => boolean): Promise<T> {
      ticker ??= setInterval(tick, tickMs);
      return new Promise<T>((resolve, reject) => {
        const e: Entry = {
          due: 0,
          expire: () => {
            if (!mayExpire || mayExpire()) reject(new AppError("TIMEOUT", `no answer within ${ms} ms`));
            else enter(e, e.due + tickMs);
          },
        };
        enter(e, Math.ceil((Date.now() + ms) / tickMs) * tickMs);
        work.then(
          (v) => {
            leave(e);
            resolve(v);
          },
          (err) => {
            leave(e);
            reject(err);
          },
        );
      });
    },
    /** Requests waiting on a deadline. */
    pending: () => [...slots.values()].reduce((n, s) => n + s.size, 0),
  };
}
