// Signature checks per client address, for tokens this edge has not verified yet. A check reserves one of the
// address's tokens (a bucket of the rate limit's shape, in this process), a valid token gives it back (its
// requests are then limited per user, never per address) and a failed one keeps it spent. So a flood of forged
// tokens from one address costs at most the bucket's worth of checks, then 429 with no check at all, while any
// number of real shoppers behind one address (a carrier's NAT, an office) pass: when the address's tokens are
// all reserved by checks in flight, the next request waits for one of them to end instead of being refused.
import type { Decision } from "../rate-limit";

type Address = { tokens: number; at: number; inFlight: number; line: Array<() => void> };

export function checkBudget(b: { capacity: number; refillPerS: number }, max = 50_000) {
  const addresses = new Map<string, Address>();

  function stateOf(ip: string): Address {
    const now = Date.now();
    let s = addresses.get(ip);
    if (!s) {
      if (addresses.size >= max) {
        const [oldest, o] = addresses.entries().next().value!;
        if (!o.inFlight) addresses.delete(oldest);
      }
      s = { tokens: b.capacity, at: now, inFlight: 0, line: [] };
      addresses.set(ip, s);
    } else if (s.tokens < b.capacity) {
      s.tokens = Math.min(b.capacity, s.tokens + ((now - s.at) / 1000) * b.refillPerS);
      s.at = now;
    } else s.at = now;
    return s;
  }

  /** Go ahead (undefined), go ahead once the promise resolves, or the refusal (no checks left, none in flight). */
  function reserve(ip: string): undefined | Promise<undefined | Decision> | Decision {
    const s = stateOf(ip);
    if (s.tokens >= 1) {
      s.tokens--;
      s.inFlight++;
      return undefined;
    }
    if (s.inFlight) return new Promise<void>((r) => s.line.push(r)).then(() => reserve(ip));
    const reset = Date.now() + Math.ceil(((1 - s.tokens) / b.refillPerS) * 1000);
    return { success: false, limit: b.capacity, remaining: 0, reset, degraded: false };
  }

  /** A reserved check ended: a valid token gives its reservation back. */
  function settle(ip: string, valid: boolean) {
    const s = addresses.get(ip);
    if (!s) return;
    s.inFlight--;
    if (valid) s.tokens = Math.min(b.capacity, s.tokens + 1);
    // as many waiters as there are tokens to take; all of them when nothing is in flight (they are refused)
    let wake = s.inFlight ? Math.floor(s.tokens) : s.line.length;
    while (wake-- > 0 && s.line.length) s.line.shift()!();
  }

  return { reserve, settle };
}
