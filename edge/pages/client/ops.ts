// The ops console (/ops): sign-in for admins, then the feed of GET /v1/ops/stream drawn as it comes: each sale
// with its remaining units, pace, orders and audit; answers per second by status (uPlot); breakers and the
// degraded limiter; stuck sagas; dead letters with a replay button.
import uPlot from "uplot";
import { $, count, h, loginForm, setText, won } from "./dom";
import { ApiError, session } from "./session";
import { follow } from "./sse";

type Sale = {
  id: string;
  productName: string;
  price: number;
  quantity: number;
  status: string;
  remaining: number | null;
  admittedPerS: number;
  pending: number;
  settled: number;
  confirmed: number;
  cancelled: number;
  startsAt: string;
  soldOut: { seconds: number; estimated: boolean } | null;
};
type Audit = { quiet: boolean; invariants: Record<string, { pass: boolean; detail: string }> };
type Letter = {
  id: number;
  subject: string;
  consumer: string;
  deliveries: number;
  error: string;
  at: string;
  orderId?: string;
};
type Stuck = { id: string; status: string; state: string | null; awaiting: string[]; ageS: number };
type Health = {
  processes: { proc: string; id: string }[];
  breakers: { name: string; state: string; proc: string; id: string }[];
  degraded: number;
};

/** The chart's series: statuses grouped so that a spike reads at a glance. */
const GROUPS: { label: string; stroke: string; has: (status: number) => boolean }[] = [
  { label: "202 accepted", stroke: "#1a7f37", has: (s) => s === 202 },
  { label: "other 2xx", stroke: "#4c8dd6", has: (s) => s >= 200 && s < 300 && s !== 202 },
  { label: "409 refused", stroke: "#9a6700", has: (s) => s === 409 },
  { label: "429 limited", stroke: "#8250df", has: (s) => s === 429 },
  { label: "other 4xx", stroke: "#6e7781", has: (s) => s >= 400 && s < 500 && s !== 409 && s !== 429 },
  { label: "5xx", stroke: "#cf222e", has: (s) => s >= 500 },
];

/** The chart shows at least this many seconds. */
const MIN_CHART_S = 60;

const s = session();
const form = $<HTMLFormElement>("form.login");
const consoleEl = $("#console");
const logout = $<HTMLButtonElement>("[data-action=logout]");
const connection = $("[data-field=connection]");
let stream: { close(): void } | undefined;
let chart: uPlot | undefined;
const audits = new Map<string, Audit>();

loginForm(form, async (email, password) => {
  const u = await s.login(email, password);
  if (u.role !== "admin") {
    await s.logout();
    throw new Error("This console is for admins.");
  }
});
logout.addEventListener("click", () => void s.logout());
s.onChange((u) => {
  const admin = u?.role === "admin";
  form.hidden = admin;
  consoleEl.hidden = !admin;
  logout.hidden = !admin;
  if (admin && !stream) start();
  if (!admin) {
    stream?.close();
    stream = undefined;
    setText(connection, "");
  }
});

function start() {
  stream = follow("/v1/ops/stream", {
    token: s.token,
    onState: (state, why) =>
      setText(connection, state === "open" ? "● live" : state === "retrying" ? `reconnecting (${why})…` : "closed"),
    fatal: (st) => st === 401 || st === 403,
    onEvent(e) {
      const data = JSON.parse(e.data);
      if (e.event === "sales") renderSales(data);
      else if (e.event === "answers") renderAnswers(data);
      else if (e.event === "health") renderHealth(data);
      else if (e.event === "audits") renderAudits(data);
      else if (e.event === "stuck") renderStuck(data);
      else if (e.event === "dlq") renderDlq(data);
    },
  });
}

function field(name: string, label: string) {
  return h("div", {}, h("dt", {}, label), h("dd", { "data-field": name }, "…"));
}

function renderSales(sales: Sale[]) {
  const list = $("#sales");
  const seen = new Set<string>();
  for (const sale of sales) {
    seen.add(sale.id);
    let el = list.querySelector<HTMLElement>(`[data-sale-id="${sale.id}"]`);
    if (!el) {
      el = h(
        "article",
        { class: "sale", "data-sale-id": sale.id },
        h("h3", {}, h("span", { "data-field": "name" }), " ", h("small", { class: "badge", "data-field": "status" })),
        h(
          "dl",
          {},
          field("remaining", "remaining"),
          field("admitted-per-s", "admitted/s"),
          field("pending", "pending orders"),
          field("settled", "settled (confirmed / cancelled)"),
          field("sell-out", "time to sell out"),
        ),
        h("ul", { class: "audit", "data-field": "audit" }),
      );
      list.append(el);
    }
    el.dataset.status = sale.status;
    setText($("[data-field=name]", el), `${sale.productName} · ${won(sale.price)}`);
    setText($("[data-field=status]", el), sale.status.replace("_", " "));
    // no counters: the sale's gate is not in Redis (not loaded yet, or lost and not rebuilt by a purchase yet)
    setText(
      $("[data-field=remaining]", el),
      `${sale.remaining === null ? "–" : count(sale.remaining)} / ${count(sale.quantity)}`,
    );
    el.classList.toggle("no-gate", sale.remaining === null);
    $("[data-field=remaining]", el).dataset.value = String(sale.remaining ?? "");
    setText($("[data-field=admitted-per-s]", el), sale.admittedPerS.toLocaleString("en-US"));
    setText($("[data-field=pending]", el), count(sale.pending));
    setText(
      $("[data-field=settled]", el),
      `${count(sale.settled)} (${count(sale.confirmed)} / ${count(sale.cancelled)})`,
    );
    setText(
      $("[data-field=sell-out]", el),
      sale.soldOut
        ? `${sale.soldOut.estimated ? "≈ " : ""}${sale.soldOut.seconds.toFixed(2)} s${sale.soldOut.estimated ? " at this pace" : ""}`
        : sale.status === "scheduled"
          ? `starts ${new Date(sale.startsAt).toLocaleTimeString()}`
          : "–",
    );
    renderAudit(el, audits.get(sale.id));
  }
  for (const el of list.querySelectorAll<HTMLElement>("[data-sale-id]")) if (!seen.has(el.dataset.saleId!)) el.remove();
  setText($("#sales-empty"), sales.length ? "" : "No sales scheduled or live.");
}

function renderAudits(reports: Record<string, Audit>) {
  audits.clear();
  for (const [id, a] of Object.entries(reports)) audits.set(id, a);
  for (const el of document.querySelectorAll<HTMLElement>("[data-sale-id]"))
    renderAudit(el, audits.get(el.dataset.saleId!));
}

function renderAudit(el: HTMLElement, a: Audit | undefined) {
  const ul = $("[data-field=audit]", el);
  const items = a
    ? [
        h("li", { class: a.quiet ? "quiet" : "busy" }, a.quiet ? "pipeline quiet" : "pipeline busy"),
        ...Object.entries(a.invariants).map(([name, r]) =>
          h("li", { class: r.pass ? "pass" : "fail", title: r.detail }, `${r.pass ? "✓" : "✗"} ${name}`),
        ),
      ]
    : [
        h(
          "li",
          {},
          el.classList.contains("no-gate")
            ? "audit: waits for the sale's gate in Redis (loaded by its first purchase)"
            : "audit: not yet",
        ),
      ];
  const text = items.map((i) => i.textContent + i.className).join("|");
  if (ul.dataset.text !== text) {
    ul.dataset.text = text;
    ul.replaceChildren(...items);
  }
}

function renderAnswers(a: { from: number; statuses: Record<string, number[]> }) {
  const n = Math.max(0, ...Object.values(a.statuses).map((v) => v.length));
  const xs = Array.from({ length: n }, (_, i) => a.from + i);
  const ys = GROUPS.map((g) =>
    xs.map((_, i) =>
      Object.entries(a.statuses).reduce((sum, [st, v]) => sum + (g.has(Number(st)) ? (v[i] ?? 0) : 0), 0),
    ),
  );
  // from the first second with an answer (a fresh stack has no past), and at least the last minute
  const first = xs.findIndex((_, i) => ys.some((y) => y[i]! > 0));
  const start = Math.max(0, Math.min(first < 0 ? n : first, n - MIN_CHART_S));
  const data: uPlot.AlignedData = [xs.slice(start), ...ys.map((y) => y.slice(start))];
  const box = $("#chart");
  if (!chart) {
    chart = new uPlot(
      {
        width: box.clientWidth || 320,
        height: 200,
        series: [{}, ...GROUPS.map((g) => ({ label: g.label, stroke: g.stroke, width: 1.5, points: { show: false } }))],
        axes: [{}, { label: "answers/s", size: 60 }],
        legend: { live: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(10, max)] } },
      },
      data,
      box,
    );
    new ResizeObserver(() => chart?.setSize({ width: box.clientWidth, height: 200 })).observe(box);
  } else chart.setData(data);
  const last = ys.map((y) => y.at(-1) ?? 0).reduce((x, y) => x + y, 0);
  setText($("[data-field=answers-now]"), `${last.toLocaleString("en-US")} answers in the last second`);
}

function renderHealth(hl: Health) {
  setText($("[data-field=degraded]"), count(hl.degraded));
  setText(
    $("[data-field=processes]"),
    hl.processes
      .map((p) => p.proc)
      .sort()
      .join(", ") || "none reporting",
  );
  const byName = new Map<string, { open: number; half: number; total: number }>();
  for (const b of hl.breakers) {
    const e = byName.get(b.name) ?? { open: 0, half: 0, total: 0 };
    e.total++;
    if (b.state === "open") e.open++;
    if (b.state === "half_open") e.half++;
    byName.set(b.name, e);
  }
  const items = [...byName]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, e]) => {
      const state = e.open ? "open" : e.half ? "half_open" : "closed";
      return h(
        "li",
        { class: `breaker ${state}`, "data-breaker": name },
        `${name}: ${state.replace("_", " ")}`,
        e.total > 1 ? ` (${e.open} of ${e.total} open)` : "",
      );
    });
  const ul = $("#breakers");
  const text = items.map((i) => i.textContent).join("|");
  if (ul.dataset.text !== text) {
    ul.dataset.text = text;
    ul.replaceChildren(...(items.length ? items : [h("li", {}, "no breaker reported")]));
  }
}

function renderStuck(items: Stuck[]) {
  const body = $("#stuck tbody");
  body.replaceChildren(
    ...items.map((o) =>
      h(
        "tr",
        {},
        h("td", { class: "id" }, o.id),
        h("td", {}, o.state ?? "never started"),
        h("td", {}, `${Math.round(o.ageS)} s`),
        h("td", {}, o.awaiting.join(", ") || "–"),
      ),
    ),
  );
  setText($("[data-field=stuck-count]"), String(items.length));
}

function renderDlq(d: { total: number; items: Letter[] }) {
  setText($("[data-field=dlq-count]"), String(d.total));
  $("#dlq").replaceChildren(
    ...d.items.map((l) =>
      h(
        "li",
        { "data-letter-id": String(l.id) },
        h(
          "div",
          {},
          h("strong", {}, l.subject),
          ` · ${l.consumer} · ${l.deliveries} deliveries · ${new Date(l.at).toLocaleString()}`,
        ),
        h("div", { class: "error" }, l.error),
        h("button", { type: "button", "data-action": "replay", "data-id": String(l.id) }, "Replay"),
      ),
    ),
  );
}

$("#dlq").addEventListener("click", async (e) => {
  const button = (e.target as Element).closest<HTMLButtonElement>("button[data-action=replay]");
  if (!button) return;
  button.disabled = true;
  try {
    await s.call("POST", `/v1/ops/dlq/${button.dataset.id}/replay`);
    setText(button, "Replayed");
  } catch (err) {
    button.disabled = false;
    setText(button, `Replay failed: ${err instanceof ApiError ? err.code : err}`);
  }
});
