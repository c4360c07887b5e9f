// The spike: shoppers buying one flash sale, some clicking twice with the same Idempotency-Key; afterwards
// the sale's audit, once its pipeline is quiet.
import type { Flow, Req, Res, Result } from "./flow.ts";
import type { SpikeData } from "./setup.ts";

export const PURCHASE_OUTCOMES = [
  "accepted",
  "duplicate",
  "sold_out",
  "limit_reached",
  "other_409",
  "rate_limited",
  "error",
] as const;
export type PurchaseOutcome = (typeof PURCHASE_OUTCOMES)[number];

export function purchaseOutcome(r: Res): PurchaseOutcome {
  if (r.status === 202) return "accepted";
  if (r.status === 409)
    return r.code === "SOLD_OUT" ? "sold_out" : r.code === "LIMIT_REACHED" ? "limit_reached" : "other_409";
  return r.status === 429 ? "rate_limited" : "error";
}

const EXPECTED = "purchase: 202 PENDING, or 409 SOLD_OUT/LIMIT_REACHED";
const expected = (r: Res) =>
  r.status === 202
    ? typeof r.body?.orderId === "string" && r.body.status === "PENDING"
    : r.status === 409 && (r.code === "SOLD_OUT" || r.code === "LIMIT_REACHED");

/** Iteration `n`: shopper n mod N buys one unit; a double-clicker sends the same request and key twice. */
export function* purchase(d: SpikeData, n: number): Flow<Result<PurchaseOutcome>> {
  const s = d.shoppers[n % d.shoppers.length]!;
  const req: Req = {
    method: "POST",
    path: `/v1/sales/${d.saleId}/purchase`,
    body: { paymentMethod: s.method },
    token: s.token,
    key: `${d.run}-${n}`,
    from: s.from,
    name: "purchase",
    expect: [202, 409],
  };
  const first = (yield req) as Res;
  const checks: [string, boolean][] = [[EXPECTED, expected(first)]];
  const outcomes = [purchaseOutcome(first)];
  if (!s.doubleClick) return { checks, outcomes };
  const again = (yield req) as Res;
  if (first.status === 202) {
    // the second click must be the first one's order, never a second order
    const same = again.status === 202 && again.body?.orderId === first.body.orderId;
    checks.push(["duplicate click: 202 with the same orderId", same]);
    outcomes.push(same ? "duplicate" : again.status === 202 ? "error" : purchaseOutcome(again));
  } else {
    checks.push([EXPECTED, expected(again)]);
    outcomes.push(purchaseOutcome(again));
  }
  return { checks, outcomes };
}

/** Waits (bounded) until the sale's pipeline is quiet, then checks every invariant of its audit. */
export function* settleSale(d: SpikeData, waitS: number): Flow<Result & { lines: string[] }> {
  const until = Date.now() + waitS * 1000;
  for (;;) {
    const r = (yield {
      method: "GET",
      path: `/v1/ops/sales/${d.saleId}/audit`,
      token: d.adminToken,
      name: "audit",
      expect: [200],
    }) as Res;
    if (r.status !== 200)
      return { checks: [["audit: 200", false]], outcomes: [], lines: [`audit answered ${r.status} ${r.code}`] };
    const a = r.body;
    if (a.quiet || Date.now() >= until) {
      const inv = Object.entries(a.invariants as Record<string, { pass: boolean; detail: string }>);
      return {
        checks: [
          ["audit: every order settled in time", a.quiet === true],
          ...inv.map(([k, v]): [string, boolean] => [`invariant ${k}`, v.pass]),
        ],
        outcomes: [],
        lines: [
          `sale ${d.saleId}: quantity ${a.quantity}, confirmed ${a.confirmed}, cancelled ${a.cancelled}, pending ${a.pending}, remaining ${a.remaining}`,
          ...inv.map(([k, v]) => `  ${v.pass ? "pass" : "FAIL"} ${k}: ${v.detail}`),
        ],
      };
    }
    yield { waitMs: 500 };
  }
}
