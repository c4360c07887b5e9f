// The pure parts of the ops feed: answers per second summed over processes, kept for the last minutes, and a
// sale's time to sell out (taken, or estimated from its recent pace).

/** Answers per second by status, summed over every process's ticks, for the last `seconds` seconds. */
export function answersWindow(seconds: number) {
  const bySecond = new Map<number, Map<string, number>>();
  return {
    add(second: number, answers: Record<string, number>) {
      let row = bySecond.get(second);
      if (!row) {
        row = new Map();
        bySecond.set(second, row);
      }
      for (const [status, n] of Object.entries(answers)) row.set(status, (row.get(status) ?? 0) + n);
      for (const s of bySecond.keys()) if (s <= second - seconds) bySecond.delete(s);
    },
    /** The window ending with the second before `now` (epoch seconds): one array per status seen, a count per second. */
    series(now: number): { from: number; statuses: Record<string, number[]> } {
      const from = now - seconds;
      const statuses: Record<string, number[]> = {};
      for (const [second, row] of bySecond) {
        if (second < from || second >= now) continue;
        for (const [status, n] of row) {
          statuses[status] ??= new Array(seconds).fill(0);
          statuses[status][second - from] = n;
        }
      }
      return { from, statuses };
    },
  };
}

/** Admitted purchases per second from two readings of the gate's count (ms, count). */
export function perSecond(prev: { at: number; admitted: number } | undefined, at: number, admitted: number): number {
  if (!prev || at <= prev.at || admitted < prev.admitted) return 0;
  return ((admitted - prev.admitted) * 1000) / (at - prev.at);
}

/**
 * Seconds from a sale's start to its last unit: taken when the gate has recorded it (sold out), else estimated
 * from the pace of the last seconds while units remain (null when nothing moves or the sale has not started).
 */
export function timeToSellOut(s: {
  startsAt: number;
  remaining: number;
  soldOutAt?: number;
  pace: number;
  now: number;
}): { seconds: number; estimated: boolean } | null {
  if (s.soldOutAt !== undefined && s.remaining <= 0)
    return { seconds: Math.max(0, (s.soldOutAt - s.startsAt) / 1000), estimated: false };
  if (s.now < s.startsAt || s.pace <= 0 || s.remaining <= 0) return null;
  return { seconds: (s.now - s.startsAt) / 1000 + s.remaining / s.pace, estimated: true };
}
