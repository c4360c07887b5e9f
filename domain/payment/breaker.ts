// A circuit breaker with a per-call timeout: after `failures` consecutive faults it opens for `openMs`
// and fails at once; then one trial call decides whether it closes again.
import { BREAKER_FAILURES, BREAKER_OPEN_MS, PAYMENT_GATEWAY_TIMEOUT_MS } from "../config/defaults";

export class CircuitOpen extends Error {
  constructor(name: string) {
    super(`circuit ${name} is open`);
  }
}

export type BreakerState = "closed" | "open" | "half_open";

/** Options left out take the shared defaults (domain/config), the call's timeout the payment gateway's. */
export function breaker(name: string, options: { failures?: number; openMs?: number; timeoutMs?: number } = {}) {
  const opts = {
    failures: BREAKER_FAILURES,
    openMs: BREAKER_OPEN_MS,
    timeoutMs: PAYMENT_GATEWAY_TIMEOUT_MS,
    ...options,
  };
  let state: BreakerState = "closed";
  let consecutive = 0;
  let openedAt = 0;
  let trial = false;

  async function call<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (state === "open") {
      if (Date.now() - openedAt < opts.openMs || trial) throw new CircuitOpen(name);
      state = "half_open";
    }
    if (state === "half_open") {
      if (trial) throw new CircuitOpen(name);
      trial = true;
    }
    try {
      const result = await fn(AbortSignal.timeout(opts.timeoutMs));
      consecutive = 0;
      state = "closed";
      return result;
    } catch (err) {
      consecutive++;
      if (state === "half_open" || consecutive >= opts.failures) {
        state = "open";
        openedAt = Date.now();
      }
      throw err;
    } finally {
      trial = false;
    }
  }
  return { name, call, state: () => state };
}
export type Breaker = ReturnType<typeof breaker>;
