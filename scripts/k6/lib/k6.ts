// Runs a flow (flow.ts) with k6/http: one request, a batch in parallel, or a pause; and records its checks.
import { check, sleep } from "k6";
import http, { type Params, type RefinedResponse } from "k6/http";
import { answer, type Flow, type Reply, type Req, type Res, wire } from "./flow.ts";

const callbacks = new Map<string, ReturnType<typeof http.expectedStatuses>>();

function params(r: Req, headers: Record<string, string>): Params {
  const key = r.expect.join(",");
  let expected = callbacks.get(key);
  if (!expected) {
    expected = http.expectedStatuses(...r.expect);
    callbacks.set(key, expected);
  }
  return { headers, tags: { name: r.name }, responseCallback: expected, timeout: "30s" };
}

const toRes = (r: RefinedResponse<"text">): Res =>
  answer(r.status, r.headers, typeof r.body === "string" ? r.body : null);

export function run<T>(base: string, flow: Flow<T>): T {
  let step = flow.next();
  while (!step.done) {
    const s = step.value;
    let reply: Reply;
    if ("waitMs" in s) sleep(s.waitMs / 1000);
    else if (Array.isArray(s)) {
      const batch = s.map((r) => {
        const w = wire(base, r);
        return { method: w.method, url: w.url, body: w.body, params: params(r, w.headers) };
      });
      reply = (http.batch(batch) as RefinedResponse<"text">[]).map(toRes);
    } else {
      const w = wire(base, s);
      reply = toRes(http.request(w.method, w.url, w.body, params(s, w.headers)) as RefinedResponse<"text">);
    }
    step = flow.next(reply);
  }
  return step.value;
}

/** Each named result as a k6 check, so the `checks` rate and its thresholds see it (tags select a part). */
export function record(checks: [string, boolean][], tags?: Record<string, string>) {
  for (const [name, ok] of checks) check(ok, { [name]: (v) => v }, tags);
}
