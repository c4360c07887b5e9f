// The headline flash-sale scenario: arrivals ramp from 0 to PEAK a second in 1 s and stay there for
// DURATION seconds; shoppers buy one sale (a share click twice with the same Idempotency-Key, a share pay
// with a declined card); afterwards the sale's audit must be green. `k6 run scripts/k6/spike-purchase.ts`
import exec from "k6/execution";
import { Counter } from "k6/metrics";
import { spikeConfig } from "./lib/config.ts";
import { record, run } from "./lib/k6.ts";
import { rushOptions } from "./lib/rush.ts";
import { type SpikeData, setupSpike } from "./lib/setup.ts";
import { PURCHASE_OUTCOMES, purchase, settleSale } from "./lib/spike.ts";
import { type SummaryData, summaryText } from "./lib/summary.ts";

const c = spikeConfig(__ENV);

export const options = rushOptions("spike", "purchase", c);

const outcomes = Object.fromEntries(PURCHASE_OUTCOMES.map((o) => [o, new Counter(`purchase_${o}`)]));

export function setup(): SpikeData {
  return run(c.baseUrl, setupSpike(c));
}

export default function (d: SpikeData) {
  const r = run(c.baseUrl, purchase(d, exec.scenario.iterationInTest));
  record(r.checks);
  for (const o of r.outcomes) outcomes[o]!.add(1);
}

export function teardown(d: SpikeData) {
  const r = run(c.baseUrl, settleSale(d, c.settleWaitS));
  record(r.checks, { phase: "settled" });
  for (const line of r.lines) console.log(line);
}

export function handleSummary(data: SummaryData) {
  const text = summaryText(
    "spike-purchase",
    data,
    [...PURCHASE_OUTCOMES.map((o) => `purchase_${o}`), "dropped_iterations"],
    ["http_req_duration{name:purchase}"],
  );
  return { stdout: text, ...(c.summaryJson ? { [c.summaryJson]: JSON.stringify(data, null, 2) } : {}) };
}
