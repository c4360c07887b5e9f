// Reads the edge's Prometheus text: request counters and latency histograms for one route, by status.
export type Scrape = { at: number; counts: Record<string, number>; buckets: Record<string, [number, number][]> };

export async function scrape(edgeUrl: string, route: string): Promise<Scrape> {
  const text = await (await fetch(`${edgeUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  const buckets: Record<string, [number, number][]> = {};
  for (const line of text.split("\n")) {
    if (!line.includes(`route="${route}"`)) continue;
    const status = line.match(/status="(\d+)"/)?.[1];
    if (!status) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("http_requests_total{")) counts[status] = value;
    const le = line.startsWith("http_request_duration_seconds_bucket{") ? line.match(/le="([^"]+)"/)?.[1] : undefined;
    if (le) (buckets[status] ??= []).push([le === "+Inf" ? Infinity : Number(le), value]);
  }
  return { at: Date.now(), counts, buckets };
}

/** Quantile (seconds) from the difference of two cumulative histograms, interpolated inside the bucket. */
export function quantile(before: [number, number][] | undefined, after: [number, number][] | undefined, q: number): number | undefined {
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
