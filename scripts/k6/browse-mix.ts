// A mixed read load at RATE iterations a second for DURATION seconds: the product list walked with its
// cursor, searches walked the same way, product detail, sale detail and the cart, as signed-in shoppers. `k6 run scripts/k6/browse-mix.ts`

import exec from "k6/execution";
import { Counter } from "k6/metrics";
import type { Options } from "k6/options";
import { BROWSE_KINDS, browse } from "./lib/browse.ts";
import { browseConfig } from "./lib/config.ts";
import { record, run } from "./lib/k6.ts";
import { type BrowseData, setupBrowse } from "./lib/setup.ts";
import { type SummaryData, summaryText } from "./lib/summary.ts";

const c = browseConfig(__ENV);

export const options: Options = {
  scenarios: {
    browse: {
      executor: "constant-arrival-rate",
      rate: c.rate,
      timeUnit: "1s",
      duration: `${c.durationS}s`,
      preAllocatedVUs: Math.ceil(c.rate / 10),
      maxVUs: Math.max(c.rate, 50),
    },
  },
  thresholds: {
    ...Object.fromEntries(BROWSE_KINDS.map((k) => [`http_req_duration{name:${k}}`, [`p(95)<${c.p95Ms}`]])),
    ...Object.fromEntries(BROWSE_KINDS.map((k) => [`http_req_failed{name:${k}}`, [`rate<${c.maxErrorRate}`]])),
    checks: ["rate>0.99"],
  },
  setupTimeout: "10m",
  summaryTrendStats: ["avg", "min", "med", "max", "p(95)", "p(99)"],
};

const outcomes = Object.fromEntries([...BROWSE_KINDS, "error" as const].map((o) => [o, new Counter(`read_${o}`)]));

export function setup(): BrowseData {
  return run(c.baseUrl, setupBrowse(c));
}

export default function (d: BrowseData) {
  const r = run(c.baseUrl, browse(d, exec.scenario.iterationInTest));
  record(r.checks);
  for (const o of r.outcomes) outcomes[o]!.add(1);
}

export function handleSummary(data: SummaryData) {
  const text = summaryText(
    "browse-mix",
    data,
    [...[...BROWSE_KINDS, "error"].map((o) => `read_${o}`), "dropped_iterations"],
    BROWSE_KINDS.map((k) => `http_req_duration{name:${k}}`),
  );
  return { stdout: text, ...(c.summaryJson ? { [c.summaryJson]: JSON.stringify(data, null, 2) } : {}) };
}
