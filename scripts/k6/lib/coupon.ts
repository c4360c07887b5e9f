// The coupon rush: shoppers claiming one first-come-first-served coupon, some clicking twice with the same
// Idempotency-Key; afterwards the claims recorded (asynchronously) per shopper.
import type { Flow, Req, Res, Result } from "./flow.ts";
import type { CouponData } from "./setup.ts";

export const CLAIM_OUTCOMES = [
  "claimed",
  "duplicate",
  "sold_out",
  "already_claimed",
  "not_active",
  "rate_limited",
  "error",
] as const;
export type ClaimOutcome = (typeof CLAIM_OUTCOMES)[number];

export function claimOutcome(r: Res): ClaimOutcome {
  if (r.status === 201) return "claimed";
  if (r.status === 409 && (r.code === "SOLD_OUT" || r.code === "ALREADY_CLAIMED" || r.code === "NOT_ACTIVE"))
    return r.code.toLowerCase() as ClaimOutcome;
  return r.status === 429 ? "rate_limited" : "error";
}

const EXPECTED = "claim: 201, or 409 SOLD_OUT/ALREADY_CLAIMED/NOT_ACTIVE";
const expected = (r: Res) =>
  r.status === 201 ? typeof r.body?.userCouponId === "string" : r.status === 409 && claimOutcome(r) !== "error";

/** Iteration `n`: shopper n mod N claims the coupon; a double-clicker sends the same key twice. */
export function* claim(d: CouponData, n: number): Flow<Result<ClaimOutcome>> {
  const s = d.shoppers[n % d.shoppers.length]!;
  const req: Req = {
    method: "POST",
    path: `/v1/coupons/${d.couponId}/claim`,
    token: s.token,
    key: `${d.run}-${n}`,
    from: s.from,
    name: "coupon_claim",
    expect: [201, 409],
  };
  const first = (yield req) as Res;
  const checks: [string, boolean][] = [[EXPECTED, expected(first)]];
  const outcomes = [claimOutcome(first)];
  if (!s.doubleClick) return { checks, outcomes };
  const again = (yield req) as Res;
  if (first.status === 201) {
    const same = again.status === 201 && again.body?.userCouponId === first.body.userCouponId;
    checks.push(["duplicate click: 201 with the same userCouponId", same]);
    outcomes.push(same ? "duplicate" : again.status === 201 ? "error" : claimOutcome(again));
  } else {
    checks.push([EXPECTED, expected(again)]);
    outcomes.push(claimOutcome(again));
  }
  return { checks, outcomes };
}

/**
 * Waits (bounded) until the claims recorded for the coupon stop changing between two reads a second apart,
 * then checks that no shopper holds it twice and that no more than its quantity were recorded.
 */
export function* settleCoupon(
  d: CouponData,
  waitS: number,
  batch = 20,
): Flow<Result & { recorded: number; lines: string[] }> {
  const until = Date.now() + waitS * 1000;
  let before = -1;
  for (;;) {
    const held: number[] = [];
    for (let i = 0; i < d.shoppers.length; i += batch) {
      const reads = d.shoppers.slice(i, i + batch).map(
        (s): Req => ({
          method: "GET",
          path: "/v1/me/coupons",
          token: s.token,
          from: s.from,
          name: "my_coupons",
          expect: [200],
        }),
      );
      for (const r of (yield reads) as Res[])
        held.push(
          r.status === 200 && Array.isArray(r.body?.items)
            ? r.body.items.filter((it: { couponId: string }) => it.couponId === d.couponId).length
            : -1,
        );
    }
    const recorded = held.reduce((a, b) => a + Math.max(0, b), 0);
    if (recorded === before || Date.now() >= until) {
      const checks: [string, boolean][] = [
        ["my coupons: 200", held.every((h) => h >= 0)],
        ["no shopper holds the coupon twice", held.every((h) => h <= 1)],
      ];
      if (d.quantity !== null) checks.push(["claims recorded <= the coupon's quantity", recorded <= d.quantity]);
      return {
        checks,
        outcomes: [],
        recorded,
        lines: [
          `coupon ${d.couponId}: ${recorded} claims recorded for ${d.shoppers.length} shoppers (quantity ${d.quantity ?? "not known here"})`,
        ],
      };
    }
    before = recorded;
    yield { waitMs: 1000 };
  }
}
