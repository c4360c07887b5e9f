// Prometheus text exposition: request counts, latency histograms and gauges, with no dependency.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;
const key = (l: Labels) =>
  Object.entries(l)
    .map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`)
    .join(",");

export function createMetrics() {
  const counters = new Map<string, Map<string, number>>();
  const histograms = new Map<string, Map<string, { buckets: number[]; sum: number; count: number }>>();
  const gauges = new Map<string, () => [Labels, number][]>();

  /** One histogram series; hot paths keep it instead of naming their labels on every call. */
  function histogram(name: string, labels: Labels) {
    const series = histograms.get(name) ?? histograms.set(name, new Map()).get(name)!;
    const k = key(labels);
    let h = series.get(k);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      series.set(k, h);
    }
    const hist = h;
    // each observation counts in its own bucket only; the cumulative counts are summed when rendered
    return (seconds: number) => {
      let i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
      if (i < BUCKETS.length) hist.buckets[i]!++;
      hist.sum += seconds;
      hist.count++;
    };
  }

  /** One counter series, likewise. */
  function counter(name: string, labels: Labels) {
    const series = counters.get(name) ?? counters.set(name, new Map()).get(name)!;
    const k = key(labels);
    if (!series.has(k)) series.set(k, 0);
    return (by = 1) => void series.set(k, series.get(k)! + by);
  }

  return {
    counter,
    histogram,
    inc(name: string, labels: Labels, by = 1) {
      counter(name, labels)(by);
    },
    observe(name: string, labels: Labels, seconds: number) {
      histogram(name, labels)(seconds);
    },
    /** A gauge read at scrape time. */
    gauge(name: string, read: () => [Labels, number][]) {
      gauges.set(name, read);
    },
    render(): string {
      const out: string[] = [];
      for (const [name, series] of counters) {
        out.push(`# TYPE ${name} counter`);
        for (const [k, v] of series) out.push(`${name}{${k}} ${v}`);
      }
      for (const [name, series] of histograms) {
        out.push(`# TYPE ${name} histogram`);
        for (const [k, h] of series) {
          const sep = k ? "," : "";
          let cumulative = 0;
          for (let i = 0; i < BUCKETS.length; i++) {
            cumulative += h.buckets[i]!;
            out.push(`${name}_bucket{${k}${sep}le="${BUCKETS[i]}"} ${cumulative}`);
          }
          out.push(
            `${name}_bucket{${k}${sep}le="+Inf"} ${h.count}`,
            `${name}_sum{${k}} ${h.sum}`,
            `${name}_count{${k}} ${h.count}`,
          );
        }
      }
      for (const [name, read] of gauges) {
        out.push(`# TYPE ${name} gauge`);
        for (const [l, v] of read()) out.push(`${name}{${key(l)}} ${v}`);
      }
      return `${out.join("\n")}\n`;
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
