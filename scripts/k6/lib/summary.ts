// The end-of-test summary (handleSummary): counts per outcome, latency of the named requests, thresholds.

type Metric = { type?: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> };
/** The part of k6's summary data read here. */
export type SummaryData = { metrics: Record<string, Metric | undefined>; state?: { testRunDurationMs?: number } };

export function summaryText(
  title: string,
  data: SummaryData,
  counters: string[],
  trends: string[],
  notes: string[] = [],
): string {
  const m = data.metrics;
  const count = (k: string) => m[k]?.values.count ?? 0;
  const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ms`);
  const lines = [
    `${title}: ${((data.state?.testRunDurationMs ?? 0) / 1000).toFixed(1)} s, ${count("iterations")} iterations, ${count("http_reqs")} requests`,
  ];
  lines.push("answers by outcome:");
  for (const k of counters) lines.push(`  ${k.padEnd(32)} ${count(k)}`);
  lines.push("latency p50 / p95 / p99 / max:");
  for (const k of trends) {
    const v = m[k]?.values;
    if (v) lines.push(`  ${k.padEnd(44)} ${ms(v.med)} / ${ms(v["p(95)"])} / ${ms(v["p(99)"])} / ${ms(v.max)}`);
  }
  const checks = m.checks?.values;
  if (checks) lines.push(`checks: ${checks.passes ?? 0} passed, ${checks.fails ?? 0} failed`);
  lines.push("thresholds:");
  for (const [k, v] of Object.entries(m))
    for (const [expr, t] of Object.entries(v?.thresholds ?? {}))
      lines.push(`  ${t.ok ? "pass" : "FAIL"} ${k}: ${expr}`);
  return `${[...lines, ...notes].join("\n")}\n`;
}
