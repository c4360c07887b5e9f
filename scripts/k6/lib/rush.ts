// The k6 options of a rush: arrivals ramp from 0 to the peak in 1 s and stay there; thresholds on the named
// request's latency and failures, on checks, and on what the system kept (checked once after the load).
import type { Options } from "k6/options";

type Rush = { peak: number; durationS: number; p95Ms: number; maxErrorRate: number; settleWaitS: number };

export function rushOptions(
  scenario: string,
  request: string,
  c: Rush,
  thresholds: Options["thresholds"] = {},
): Options {
  return {
    scenarios: {
      [scenario]: {
        executor: "ramping-arrival-rate",
        startRate: 0,
        timeUnit: "1s",
        preAllocatedVUs: Math.ceil(c.peak / 10),
        maxVUs: Math.max(c.peak, 50),
        stages: [
          { duration: "1s", target: c.peak },
          { duration: `${c.durationS}s`, target: c.peak },
        ],
      },
    },
    thresholds: {
      [`http_req_duration{name:${request}}`]: [`p(95)<${c.p95Ms}`],
      // answers other than the statuses each request says it expects
      [`http_req_failed{name:${request}}`]: [`rate<${c.maxErrorRate}`],
      checks: ["rate>0.99"],
      // what the system kept, checked once after the load: every one must pass
      "checks{phase:settled}": ["rate==1"],
      ...thresholds,
    },
    setupTimeout: "10m",
    teardownTimeout: `${c.settleWaitS + 60}s`,
    summaryTrendStats: ["avg", "min", "med", "max", "p(95)", "p(99)"],
  };
}
