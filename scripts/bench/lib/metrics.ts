// Reads the edge processes' Prometheus text, summed over the processes: request counters and latency histograms
// for one route by status, and the tokens each process had to check (signature verifications).
export type Scrape = {
  at: number;
  counts: Record<string, number>;
  buckets: Record<string, [number, number][]>;
  tokenChecks: number;
  fromMemory: number;
};

export async function scrape(metricsUrls: string[], route: string): Promise<Scrape> {
  const texts = await Promise.all(metricsUrls.map(async (u) => (await fetch(u)).text()));
  const counts: Record<string, number> = {};
  const byLe: Record<string, Map<number, number>> = {};
  let tokenChecks = 0;
  let fromMemory = 0;
  for (const line of texts.join("\n").split("\n")) {
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("token_checks_total{")) tokenChecks += value;
    if (line.startsWith("shortcut_answers_total{")) fromMemory += value;
    if (!line.includes(`route="${route}"`)) continue;
    const status = line.match(/status="(\d+)"/)?.[1];
    if (!status) continue;
    if (line.startsWith("http_requests_total{")) counts[status] = (counts[status] ?? 0) + value;
    const le = line.startsWith("http_request_duration_seconds_bucket{") ? line.match(/le="([^"]+)"/)?.[1] : undefined;
    if (le) {
      byLe[status] ??= new Map();
      const m = byLe[status];
      const k = le === "+Inf" ? Infinity : Number(le);
      m.set(k, (m.get(k) ?? 0) + value);
    }
  }
  const buckets = Object.fromEntries(Object.entries(byLe).map(([st, m]) => [st, [...m].sort((a, b) => a[0] - b[0])]));
  return { at: Date.now(), counts, buckets, tokenChecks, fromMemory };
}

/** Quantile (seconds) from the difference of two cumulative histograms, interpolated inside the bucket. */
export function quantile(
  before: [number, number][] | undefined,
  after: [number, number][] | undefined,
  q: number,
): number | undefined {
  if (!after?.length) return undefined;
  const base = new Map(before ?? []);
  const cum = after.map(([le, n]) => [le, n - (base.get(le) ?? 0)] as [number, number]).sort((a, b) => a[0] - b[0]);
  const total = cum.at(-1)![1];
  if (!total) return undefined;
  const target = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of cum) {
    if (n >= target) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (target - prevN)) / Math.max(1, n - prevN);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}
