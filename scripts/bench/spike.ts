// `bun run bench:spike`: the largest seed scenario against the real stack over HTTP (wrk), then waits until
// every accepted order settles and audits the invariants. In the same run it measures the machine's own
// limits and reports ratios. Writes scripts/bench/results/spike.{md,json,html}.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { accounts } from "../lib/accounts";
import { admin, root, startPrivateStack } from "../lib/private-stack";
import { cpuStat, processCpu, stealSince } from "./lib/cpu";
import { page, type Series } from "./lib/html";
import { placedToConfirmed } from "./lib/latency";
import { bareBun, gateLua, jetstreamPublish, naiveSagaTx } from "./lib/limits";
import { quantile, type Scrape, scrape } from "./lib/metrics";
import { stageCpu } from "./lib/stages";
import { wrk } from "./lib/wrk";

const { values: a } = parseArgs({
  options: {
    shoppers: { type: "string", default: "10000" },
    requests: { type: "string", default: "50000" },
    units: { type: "string", default: "500" },
    declines: { type: "string", default: "0.2" },
    connections: { type: "string", default: "256" },
    threads: { type: "string", default: "2" },
    processes: { type: "string", default: String(availableParallelism()) },
    "limit-seconds": { type: "string", default: "5" },
    out: { type: "string", default: join(root, "scripts/bench/results") },
  },
});
const n = (k: keyof typeof a) => Number(a[k]);
const route = "/v1/sales/:id/purchase";
const log = (msg: string) => console.error(`[bench:spike] ${msg}`);
/** The audit answer (GET /v1/ops/sales/:id/audit), as far as this report reads it. */
type Audit = {
  quiet: boolean;
  quantity: number;
  confirmed: number;
  cancelled: number;
  remaining: number;
  orders: number;
  perUserMax: number;
  soldOutAt: string | null;
  lastRestockAt: string | null;
  invariants: Record<string, { pass: boolean; detail: string }>;
};

const setupStarted = performance.now();
const s = await startPrivateStack({
  name: "bench_spike",
  logFile: join(root, ".data", "bench-spike.log"),
  // shoppers arrive from their own addresses through a trusted loopback proxy, as behind a load balancer
  env: {
    PAYMENT_FAILURE_RATE: a.declines!,
    LOG_LEVEL: "warn",
    TRUSTED_PROXIES: "127.0.0.1/32",
    EDGE_PROCESSES: a.processes!,
  },
});
try {
  const api = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<T> => {
    const r = await fetch(s.edgeUrl + path, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json as T;
  };
  const adminToken = (await api("POST", "/v1/auth/login", undefined, admin)).accessToken as string;
  const product = await api("POST", "/v1/products", adminToken, {
    name: "Spike product",
    price: 100_000,
    stock: n("units"),
  });
  const sale = await api<{ id: string }>("POST", "/v1/sales", adminToken, {
    productId: product.id,
    price: 50_000,
    quantity: n("units"),
    startsAt: new Date().toISOString(),
  });
  const people = await accounts(s.env, "shopper", n("shoppers"));
  const tokenFile = join(root, ".data", "bench-spike-tokens.txt");
  writeFileSync(tokenFile, `${people.map((p) => p.token).join("\n")}\n`);
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  log(`setup ${setupSeconds.toFixed(1)} s: stack, sale of ${n("units")} units, ${people.length} shoppers with tokens`);

  const driver = { threads: n("threads"), connections: n("connections") };
  /** wrk's purchase script: each request buys one unit of the sale with the next shopper's token of the file. */
  const purchases = (saleId: string, tokens: string) => ({
    script: join(import.meta.dir, "purchase.lua"),
    args: [`/v1/sales/${saleId}/purchase`, tokens, String(n("threads"))],
  });
  const processes = n("processes");

  // warm the edges as earlier traffic would (the JIT, connections, pools): purchases of another, one-unit sale by
  // other shoppers, so the spike's own shoppers' tokens stay unseen and its sale untouched
  const warmProduct = await api("POST", "/v1/products", adminToken, { name: "Warm-up product", price: 1000, stock: 1 });
  const warmSale = await api<{ id: string }>("POST", "/v1/sales", adminToken, {
    productId: warmProduct.id,
    price: 1000,
    quantity: 1,
    startsAt: new Date().toISOString(),
  });
  const warmFile = join(root, ".data", "bench-spike-warm-tokens.txt");
  writeFileSync(warmFile, `${(await accounts(s.env, "shopper", 2000)).map((p) => p.token).join("\n")}\n`);
  await wrk({ url: s.edgeUrl, ...driver, seconds: n("limit-seconds"), ...purchases(warmSale.id, warmFile) });
  // the bare server is driven the same way: the same wrk script sends it the same purchase requests
  const sameRequests = purchases(sale.id, tokenFile);
  const bareBefore = await bareBun({ ...driver, ...sameRequests, processes, seconds: n("limit-seconds") });
  log(`bare Bun.serve: ${bareBefore.rps.toFixed(0)} req/s`);

  // the spike, sampled every 100 ms from the edge's own metrics, which also tell when to stop wrk
  const edgePids = s.edgePids();
  const edgeCpu = () => edgePids.reduce((sum, pid) => sum + (processCpu(pid)?.seconds ?? 0), 0);
  const samples: Scrape[] = [await scrape(s.metricsUrls, route)];
  const cpuBefore = edgeCpu();
  const machineBefore = cpuStat();
  const total = (x: Scrape) => Object.values(x.counts).reduce((m, v) => m + v, 0);
  const answered = (x: Scrape) => total(x) - total(samples[0]!);
  const t0 = Date.now();
  let sampling = true;
  let enough!: () => void;
  const stop = new Promise<void>((r) => (enough = r));
  const sampler = (async () => {
    while (sampling) {
      await Bun.sleep(100);
      samples.push(await scrape(s.metricsUrls, route));
      if (answered(samples.at(-1)!) >= n("requests")) enough();
    }
  })();
  const spike = await wrk({
    url: s.edgeUrl,
    ...driver,
    seconds: 120,
    ...sameRequests,
    stop,
  });
  const spikeEnd = Date.now();
  const edgeCpuSeconds = edgeCpu() - cpuBefore;
  // the share of the machine's CPU the hypervisor took away during the spike (a run that lost much is not comparable)
  const stealPct = stealSince(machineBefore);
  const atEnd = await scrape(s.metricsUrls, route);
  spike.statuses = Object.fromEntries(
    Object.entries(atEnd.counts).map(([st, v]) => [st, v - (samples[0]!.counts[st] ?? 0)]),
  );
  log(
    `spike: ${spike.requests} requests in ${(spike.durationUs / 1e6).toFixed(2)} s, ${spike.rps.toFixed(0)} req/s, ${JSON.stringify(spike.statuses)}`,
  );

  let audit!: Audit;
  for (const until = Date.now() + 180_000; Date.now() < until; await Bun.sleep(250)) {
    audit = await api<Audit>("GET", `/v1/ops/sales/${sale.id}/audit`, adminToken);
    if (audit.quiet) break;
  }
  const settledAt = Date.now();
  sampling = false;
  await sampler;
  log(`settled ${((settledAt - t0) / 1000).toFixed(2)} s after the first request; confirmed ${audit.confirmed}`);

  const confirmedLatency = await placedToConfirmed(s.env.NATS_URL!, s.env.DATABASE_URL!, sale.id);
  log(
    `202 to CONFIRMED: p50 ${confirmedLatency.p50ms.toFixed(0)} ms, p99 ${confirmedLatency.p99ms.toFixed(0)} ms (${confirmedLatency.orders} orders)`,
  );
  const bareAfter = await bareBun({ ...driver, ...sameRequests, processes, seconds: n("limit-seconds") });
  const stages = await stageCpu(s.env);
  const lua = await gateLua(s.env.REDIS_URL!, n("limit-seconds"));
  const publish = await jetstreamPublish(s.env.NATS_URL!, n("limit-seconds"));
  const pgTx = await naiveSagaTx(s.env.DATABASE_URL!, n("limit-seconds"));
  const bare = (bareBefore.rps + bareAfter.rps) / 2;
  log(
    `limits: bare ${bareAfter.rps.toFixed(0)} req/s, gate Lua ${lua.toFixed(0)}/s, JetStream ${publish.toFixed(0)}/s, saga tx ${pgTx.toFixed(0)}/s`,
  );

  const first = samples[0]!;
  const last = samples.at(-1)!;
  const outcome: Record<string, string> = {
    "202": "accepted",
    "409": "refused (409)",
    "429": "rate limited",
    "503": "unavailable",
  };
  const byOutcome = Object.fromEntries(
    Object.keys(last.counts).map((st) => [
      st,
      {
        outcome: outcome[st] ?? st,
        count: last.counts[st]! - (first.counts[st] ?? 0),
        p50ms: (quantile(first.buckets[st], last.buckets[st], 0.5) ?? 0) * 1000,
        p95ms: (quantile(first.buckets[st], last.buckets[st], 0.95) ?? 0) * 1000,
        p99ms: (quantile(first.buckets[st], last.buckets[st], 0.99) ?? 0) * 1000,
      },
    ]),
  );
  // answers in each of the first five seconds, from the samples nearest each second's end
  const at = (sec: number) =>
    samples.reduce((best, x) => (Math.abs(x.at - t0 - sec * 1000) < Math.abs(best.at - t0 - sec * 1000) ? x : best));
  const firstSeconds = [1, 2, 3, 4, 5].map((sec) => total(at(sec)) - total(at(sec - 1)));
  const unseenTokenShare = (atEnd.tokenChecks - samples[0]!.tokenChecks) / Math.max(1, spike.requests);
  const fromMemoryShare = (atEnd.fromMemory - samples[0]!.fromMemory) / Math.max(1, spike.requests);
  const failed = Object.entries(audit.invariants)
    .filter(([, v]) => !v.pass)
    .map(([k]) => k);
  const result = {
    when: new Date().toISOString(),
    parameters: {
      shoppers: n("shoppers"),
      requests: n("requests"),
      units: n("units"),
      declineRate: n("declines"),
      processes,
      ...driver,
    },
    setupSeconds,
    spike: { ...spike, seconds: spike.durationUs / 1e6 },
    latencyByStatus: byOutcome,
    answersInFirstSeconds: firstSeconds,
    winners202: { p50ms: byOutcome["202"]?.p50ms ?? null, p99ms: byOutcome["202"]?.p99ms ?? null },
    /** From each winner's 202 (its orders.cmd.place publish, acked before the answer) to its CONFIRMED history row. */
    accepted202ToConfirmed: confirmedLatency,
    unseenTokenShare,
    fromMemoryShare,
    edgeCpuUsPerRequest: (edgeCpuSeconds * 1e6) / Math.max(1, spike.requests),
    stealPct,
    stageCpuUs: stages,
    timeToSellOutSeconds: audit.soldOutAt ? (Date.parse(audit.soldOutAt) - t0) / 1000 : null,
    timeToSettleSeconds: (settledAt - t0) / 1000,
    sale: {
      quantity: audit.quantity,
      confirmed: audit.confirmed,
      cancelled: audit.cancelled,
      remaining: audit.remaining,
      orders: audit.orders,
      perUserMax: audit.perUserMax,
    },
    oversell: Math.max(0, audit.confirmed - audit.quantity),
    // units left unsold although they were back in the gate before the last request was answered
    undersell: audit.lastRestockAt && Date.parse(audit.lastRestockAt) < spikeEnd ? audit.remaining : 0,
    unsoldAfterDemandEnded: audit.lastRestockAt && Date.parse(audit.lastRestockAt) >= spikeEnd ? audit.remaining : 0,
    invariants: audit.invariants,
    limits: {
      bareBunBefore: bareBefore.rps,
      bareBunAfter: bareAfter.rps,
      bareBun: bare,
      gateLuaPerS: lua,
      jetstreamPublishPerS: publish,
      naiveSagaTxPerS: pgTx,
    },
    ratios: {
      purchaseVsBareBun: spike.rps / bare,
      acceptedOrdersVsJetstreamPublish: audit.orders / ((spikeEnd - t0) / 1000) / publish,
    },
  };

  const f = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const md = `# Spike bench

${result.when}. ${f(n("requests"))} purchase requests from ${f(n("shoppers"))} shoppers for ${f(n("units"))} units, ${f(n("declines") * 100)}% of payments declined,
driven over HTTP by wrk (${driver.threads} threads, ${driver.connections} connections) against ${processes} edge process(es) on one port
with every actor running, on this ${availableParallelism()}-core machine (load generator on the same cores). Setup (stack, sale, shoppers and tokens): ${f(setupSeconds, 1)} s.

## Throughput, against the machine's own limits in the same run

| | rate | ratio |
|---|---|---|
| purchase requests through the edge (auth, rate limit, gate, JetStream publish for the admitted) | ${f(spike.rps)} req/s | **${f(result.ratios.purchaseVsBareBun, 2)}x** bare Bun |
| bare \`Bun.serve\` returning "ok", ${processes} process(es) on one port, sent the same requests by the same wrk script (before / after) | ${f(bareBefore.rps)} / ${f(bareAfter.rps)} req/s | 1.00x |
| the gate's Lua on raw Redis (ioredis, 256 in flight) | ${f(lua)} /s | |
| raw JetStream acked publish (256 B, msg id, 1000 in flight) | ${f(publish)} /s | |
| naive saga transaction on Postgres (inbox + snapshot + outbox, 8 clients) | ${f(pgTx)} /s | |

## The opening seconds

| second | 1 | 2 | 3 | 4 | 5 |
|---|---|---|---|---|---|
| answers | ${firstSeconds.map((x) => f(x)).join(" | ")} |

- sold out ${result.timeToSellOutSeconds === null ? "never" : `${f(result.timeToSellOutSeconds, 3)} s`} after the first request; winners' 202: p50 ${f(result.winners202.p50ms ?? 0, 1)} ms, p99 ${f(result.winners202.p99ms ?? 0, 1)} ms
- requests whose token the edge had not seen (a signature check): ${f(unseenTokenShare * 100, 1)}% (${f(atEnd.tokenChecks - samples[0]!.tokenChecks)}); answered from memory before any check or Redis call (sold out): ${f(fromMemoryShare * 100, 1)}%
- edge CPU per request (all edge processes, user + system, over the spike): ${f(result.edgeCpuUsPerRequest, 1)} us; CPU taken by the hypervisor (steal) during the spike: ${f(stealPct, 1)}%

CPU per stage, each measured alone in the bench process (a few thousand calls, many in flight; the servers' own CPU not included):
token check (EdDSA, a token not seen before) ${f(stages.tokenCheckUs, 1)} us, rate-limit bucket call (Redis round trip through @upstash/ratelimit and
ioredis, a new identity) ${f(stages.bucketCallUs, 1)} us, gate decision (Lua) ${f(stages.gateDecisionUs, 1)} us, acked JetStream publish ${f(stages.ackedPublishUs, 1)} us.

## Answers and latency (server side, from the edge's histograms)

| status | answers | p50 | p95 | p99 |
|---|---|---|---|---|
${Object.entries(byOutcome)
  .map(
    ([st, o]) =>
      `| ${st} ${o.outcome} | ${f(o.count)} | ${f(o.p50ms, 2)} ms | ${f(o.p95ms, 2)} ms | ${f(o.p99ms, 2)} ms |`,
  )
  .join("\n")}

Client side (wrk, all answers): p50 ${f(spike.p50 / 1000, 2)} ms, p95 ${f(spike.p95 / 1000, 2)} ms, p99 ${f(spike.p99 / 1000, 2)} ms, max ${f(spike.max / 1000, 1)} ms; socket errors ${spike.errors}.

## The sale

- sold out ${result.timeToSellOutSeconds === null ? "never" : `${f(result.timeToSellOutSeconds, 3)} s`} after the first request; every accepted order settled ${f(result.timeToSettleSeconds, 2)} s after it
- 202 to CONFIRMED, per confirmed order (the \`orders.cmd.place\` publish acked before the 202, to the order's CONFIRMED history row): p50 ${f(confirmedLatency.p50ms)} ms, p99 ${f(confirmedLatency.p99ms)} ms, max ${f(confirmedLatency.maxMs)} ms (${confirmedLatency.orders} orders)
- confirmed ${audit.confirmed} of ${audit.quantity}, remaining ${audit.remaining}, orders ${audit.orders} (cancelled units ${audit.cancelled}), most units per shopper ${audit.perUserMax}
- oversell **${result.oversell}**, undersell **${result.undersell}** (units back in the gate before the last request was answered and still unsold); ${result.unsoldAfterDemandEnded} units came back (declined payments) only after the last request

| invariant | | detail |
|---|---|---|
${Object.entries(audit.invariants)
  .map(([k, v]) => `| ${k} | ${v.pass ? "pass" : "**FAIL**"} | ${v.detail} |`)
  .join("\n")}

Command: \`bun run bench:spike --shoppers ${n("shoppers")} --requests ${n("requests")} --units ${n("units")} --declines ${n("declines")}\`
`;

  const times = samples.map((x) => (x.at - t0) / 1000);
  const rate = (st: string): [number, number][] =>
    samples
      .slice(1)
      .map((x, i) => [
        times[i + 1]!,
        ((x.counts[st] ?? 0) - (samples[i]!.counts[st] ?? 0)) / ((x.at - samples[i]!.at) / 1000),
      ]);
  const lat = (st: string, q: number): [number, number][] =>
    samples.slice(1).flatMap((x, i) => {
      const v = quantile(samples[i]!.buckets[st], x.buckets[st], q);
      return v === undefined ? [] : [[times[i + 1]!, v * 1000] as [number, number]];
    });
  const colors: Record<string, string> = { "202": "#2a9d4b", "409": "#d1495b", "429": "#edae49", "503": "#6a4c93" };
  const statuses = Object.keys(last.counts);
  const html = page(
    "Spike bench",
    `<p>${result.when}: ${f(n("requests"))} requests, ${f(n("shoppers"))} shoppers, ${f(n("units"))} units. ${f(spike.rps)} req/s = ${f(result.ratios.purchaseVsBareBun, 2)}x a bare Bun server in the same run. Confirmed ${audit.confirmed}/${audit.quantity}, oversell ${result.oversell}, undersell ${result.undersell}, invariants ${failed.length ? `FAILED: ${failed.join(", ")}` : "all pass"}.</p>`,
    [
      {
        title: "Answers per second by status",
        unit: "answers/s",
        series: statuses.map((st): Series => ({ name: st, color: colors[st] ?? "#555", points: rate(st) })),
      },
      {
        title: "Server-side latency by status (p50 solid, p99 light)",
        unit: "ms",
        series: statuses.flatMap((st): Series[] => [
          { name: `${st} p50`, color: colors[st] ?? "#555", points: lat(st, 0.5) },
          { name: `${st} p99`, color: `${colors[st] ?? "#555"}88`, points: lat(st, 0.99) },
        ]),
      },
    ],
  );
  mkdirSync(a.out!, { recursive: true });
  writeFileSync(
    join(a.out!, "spike.json"),
    JSON.stringify({ ...result, samples: samples.map((x) => ({ t: (x.at - t0) / 1000, counts: x.counts })) }, null, 2),
  );
  writeFileSync(join(a.out!, "spike.md"), md);
  writeFileSync(join(a.out!, "spike.html"), html);
  console.log(md);
  if (failed.length || result.oversell) process.exitCode = 1;
} finally {
  await s.stop();
}
