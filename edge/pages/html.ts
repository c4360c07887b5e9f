// The two pages' HTML, rendered on the server; their scripts fill them in. The hooks tests and other clients
// hold on to (contract v1.1, "Pages"): the login form's `input[name=email]`, `input[name=password]` and
// `button[type=submit]`; on /ops each sale's `[data-sale-id]` with `[data-field=remaining]`; on the sale page
// `[data-action=buy]` and `[data-field=order-status]`.
import type { Assets } from "./bundle";

/** Scripts, styles and connections from this origin only; nothing inline. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const head = (title: string, a: Assets, script: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/assets/${a.css}"><script type="module" src="/assets/${script}"></script></head>`;

const login = (title: string) => `<form class="login" autocomplete="on">
<h2>${esc(title)}</h2>
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit" class="primary">Sign in</button>
<p data-field="login-error" role="alert"></p>
</form>`;

export function opsPage(a: Assets): string {
  return `${head("Ops console · flashsale", a, a.ops)}
<body class="ops"><header class="top"><strong>flashsale ops</strong><span data-field="connection"></span><span class="spacer"></span><button type="button" data-action="logout" hidden>Sign out</button></header>
<main>
${login("Sign in as an admin")}
<div id="console" hidden>
<h2>Sales</h2><p id="sales-empty" class="muted"></p><div id="sales"></div>
<div class="panels">
<section class="panel wide"><h2>Answers per second by status</h2><div id="chart"></div><p class="muted" data-field="answers-now"></p></section>
<section class="panel"><h2>Health</h2>
<p>Circuit breakers:</p><ul id="breakers"></ul>
<p>Rate limiting on the local fallback (Redis slow or down): <strong data-field="degraded">…</strong> decisions</p>
<p class="muted">Reporting: <span data-field="processes">…</span></p></section>
<section class="panel"><h2>Stuck sagas (<span data-field="stuck-count">…</span>)</h2>
<table id="stuck"><thead><tr><th>order</th><th>state</th><th>unchanged</th><th>awaiting</th></tr></thead><tbody></tbody></table></section>
<section class="panel"><h2>Dead letters (<span data-field="dlq-count">…</span>)</h2><ul id="dlq"></ul></section>
</div>
</div>
</main></body></html>`;
}

export type ShopSale = {
  id: string;
  productName: string;
  price: number;
  quantity: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date | null;
  status: string;
  remaining: number;
};

export function shopPage(a: Assets, s: ShopSale, now: number): string {
  return `${head(`${s.productName} · flashsale`, a, a.shop)}
<body><header class="top"><strong>flashsale</strong><span class="spacer"></span><span data-field="who"></span><button type="button" data-action="logout" hidden>Sign out</button></header>
<main class="shop" data-sale-id="${esc(s.id)}" data-status="${esc(s.status)}" data-starts-at="${esc(s.startsAt.toISOString())}" data-ends-at="${s.endsAt ? esc(s.endsAt.toISOString()) : ""}" data-server-now="${now}" data-per-user-limit="${s.perUserLimit}" data-remaining="${s.remaining}">
<section class="product">
<h1 data-field="product-name">${esc(s.productName)}</h1>
<p class="price" data-field="price">${s.price.toLocaleString("en-US")} KRW</p>
<p><span data-field="sale-status"></span></p>
<p data-field="countdown"></p>
<p class="stock"><span data-field="remaining">${s.remaining.toLocaleString("en-US")}</span> of ${s.quantity.toLocaleString("en-US")} left · at most ${s.perUserLimit} per shopper</p>
</section>
${login("Sign in to buy")}
<section class="buy">
<button type="button" data-action="buy" disabled>Sign in to buy</button>
<p data-field="notice" role="status"></p>
<p data-field="order-status" aria-live="polite"></p>
</section>
</main></body></html>`;
}
