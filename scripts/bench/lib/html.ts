// A self-contained HTML page with line charts (inline SVG) of series over time.
export type Series = { name: string; color: string; points: [number, number][] };

function chart(title: string, unit: string, series: Series[]): string {
  const W = 880,
    H = 270,
    L = 70,
    B = 40,
    T = 16;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs),
    yMax = Math.max(1e-9, ...ys) * 1.1;
  const x = (v: number) => L + (v / xMax) * (W - L - 10);
  const y = (v: number) => H - B - (v / yMax) * (H - B - T);
  const ticks = Array.from({ length: 5 }, (_, i) => (yMax / 4) * i);
  const fmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(2));
  const step = [0.5, 1, 2, 5, 10, 20, 30, 60].find((s) => xMax / s <= 12) ?? 120;
  const xTicks = Array.from({ length: Math.floor(xMax / step) + 1 }, (_, i) => i * step);
  return `<figure><figcaption>${title}</figcaption><svg viewBox="0 0 ${W} ${H}" width="100%">
${ticks.map((t) => `<line x1="${L}" x2="${W - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`).join("")}
${xTicks.map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${H - B}" y2="${H - B + 4}" stroke="#999"/><text x="${x(t)}" y="${H - B + 16}" text-anchor="middle">${t}</text>`).join("")}
<line x1="${L}" x2="${W - 10}" y1="${H - B}" y2="${H - B}" stroke="#999"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/>
<text x="${(L + W) / 2}" y="${H - 4}" text-anchor="middle">time since the first request (seconds)</text>
<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${unit}</text>
${series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(" ")}"/>`).join("\n")}
</svg><div class="legend">${series.map((s) => `<span style="color:${s.color}">■ ${s.name}</span>`).join(" ")}</div></figure>`;
}

export function page(
  title: string,
  intro: string,
  charts: { title: string; unit: string; series: Series[] }[],
): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>
body{font:14px system-ui,sans-serif;max-width:920px;margin:2em auto;color:#222}svg text{font-size:11px;fill:#555}
figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}.legend span{margin-right:1em}pre{background:#f6f6f6;padding:1em;overflow:auto}
</style></head><body><h1>${title}</h1>${intro}${charts.map((c) => chart(c.title, c.unit, c.series)).join("\n")}</body></html>`;
}
