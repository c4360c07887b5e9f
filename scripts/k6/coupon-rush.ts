// Shoppers rushing one first-come-first-served coupon: arrivals ramp from 0 to PEAK a second in 1 s and
// stay there for DURATION seconds; a share click twice with the same Idempotency-Key; afterwards no shopper
// may hold it twice, nor more be recorded than its quantity. `k6 run scripts/k6/coupon-rush.ts`
import exec from "k6/execution";
import { Counter } from "k6/metrics";
import { couponConfig } from "./lib/config.ts";
import { CLAIM_OUTCOMES, claim, settleCoupon } from "./lib/coupon.ts";
import { record, run } from "./lib/k6.ts";
import { rushOptions } from "./lib/rush.ts";
import { type CouponData, setupCoupon } from "./lib/setup.ts";
import { type SummaryData, summaryText } from "./lib/summary.ts";

const c = couponConfig(__ENV);

export const options = rushOptions("rush", "coupon_claim", c, {
  // never more granted than made (known only when this run made the coupon)
  ...(c.couponId ? {} : { claim_claimed: [`count<=${c.quantity}`] }),
});

const outcomes = Object.fromEntries(CLAIM_OUTCOMES.map((o) => [o, new Counter(`claim_${o}`)]));
const recorded = new Counter("claims_recorded");

export function setup(): CouponData {
  return run(c.baseUrl, setupCoupon(c));
}

export default function (d: CouponData) {
  const r = run(c.baseUrl, claim(d, exec.scenario.iterationInTest));
  record(r.checks);
  for (const o of r.outcomes) outcomes[o]!.add(1);
}

export function teardown(d: CouponData) {
  const r = run(c.baseUrl, settleCoupon(d, c.settleWaitS, c.batch));
  record(r.checks, { phase: "settled" });
  recorded.add(r.recorded);
  for (const line of r.lines) console.log(line);
}

export function handleSummary(data: SummaryData) {
  const text = summaryText(
    "coupon-rush",
    data,
    [...CLAIM_OUTCOMES.map((o) => `claim_${o}`), "claims_recorded", "dropped_iterations"],
    ["http_req_duration{name:coupon_claim}"],
    ["(claim_claimed counts the grants answered; claims_recorded what reached Postgres: they match once settled)"],
  );
  return { stdout: text, ...(c.summaryJson ? { [c.summaryJson]: JSON.stringify(data, null, 2) } : {}) };
}
