// Request time limit: a request still running after `ms` is answered 504 TIMEOUT (its work is not
// cancelled; the answer just stops waiting). A timer per request costs more than the rest of a cached
// GET, so requests share one ticker: each waits in the slot of its deadline, rounded up to a tick, and the
// ticker fails the slots that are due. A deadline is therefore met within one tick late.
import type { MiddlewareHandler } from "hono";
import type { Env } from "../deps";
import { AppError } from "../errors";

export function deadline(ms: number, tickMs = 100): MiddlewareHandler<Env> & { pending(): number } {
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

  const mw: MiddlewareHandler<Env> = async function deadline(_c, next) {
    const due = Math.ceil((Date.now() + ms) / tickMs) * tickMs;
    let waiting = slots.get(due);
    if (!waiting) slots.set(due, (waiting = new Set()));
    let fail!: (err: AppError) => void;
    const late = new Promise<never>((_, reject) => (fail = reject));
    waiting.add(fail);
    ticker ??= setInterval(tick, tickMs);
    try {
      await Promise.race([next(), late]);
    } finally {
      waiting.delete(fail);
      if (!waiting.size && slots.get(due) === waiting) slots.delete(due);
    }
  };
  return Object.assign(mw, { pending: () => [...slots.values()].reduce((n, s) => n + s.size, 0) });
}
