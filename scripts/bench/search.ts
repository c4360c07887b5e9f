// `bun run bench:search`: product search over 100,000 products, with and without its GIN indexes, in the
// same run on the same database. A database of its own is migrated and filled (scripts/bench/lib/
// search-corpus.ts); then in each round every query of the mix runs `--times` times through the edge's own
// search code (edge/catalog/search.ts, drizzle and postgres.js as the route runs it) with the indexes, then
// as many times inside a transaction that dropped them (rolled back after), so both see the same rows.
// Writes scripts/bench/results/search.{md,json}, with each query's plan both ways. Options: --products N
// (100000), --times N (10), --rounds N (5).
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { createDb, runMigrations, type Tx } from "../../db";
import { search, searchQuery, searchStatement, sortOf } from "../../edge/catalog/search";
import { root } from "../lib/private-stack";
import { dropDatabase, ensureDatabase } from "../lib/services";
import { cpuStat, stealSince } from "./lib/cpu";
import { writeCorpus } from "./lib/search-corpus";

const { values: a } = parseArgs({
  options: {
    products: { type: "string", default: "100000" },
    times: { type: "string", default: "10" },
    rounds: { type: "string", default: "5" },
    out: { type: "string", default: join(root, "scripts/bench/results") },
  },
});
const n = Number(a.products);
const times = Number(a.times);
const rounds = Number(a.rounds);
const log = (msg: string) => console.error(`[bench:search] ${msg}`);

/** The mix: what a shopper types, from a rare model code to a common word. */
const QUERIES = [
  { label: "a model code (English part and whole word, ~10 matches)", q: "MX-4821" },
  { label: "a Korean part spanning a compound (보드운동 in 키보드운동화, ~0.3%)", q: "보드운동" },
  { label: "two words, Korean part + English word (~1%)", q: "텀블러 vintage" },
  { label: "a Korean two-syllable whole word (신발, ~10%)", q: "신발" },
  { label: "an English part of a common word (eyboa, ~15%)", q: "eyboa" },
];
const INDEXES = ["catalog.products_search_words_idx", "catalog.products_search_trgm_idx"];

const url = "postgres://postgres@127.0.0.1:5432/flashsale_bench_search";
await dropDatabase(url);
await ensureDatabase(url);
await runMigrations(url);
const db = createDb(url, { max: 2 });
log(`writing ${n} products`);
let t = performance.now();
await writeCorpus(db, n, crypto.randomUUID());
log(`written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const quantile = (xs: number[], q: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
type Mode = "index" | "noIndex";
const samples: Record<Mode, number[][]> = { index: QUERIES.map(() => []), noIndex: QUERIES.map(() => []) };
const matches: number[] = [];
const plans: Record<Mode, string[]> = { index: [], noIndex: [] };

/** Runs query `i` in one transaction (rolled back), with or without the indexes. */
async function phase(i: number, mode: Mode, record: boolean, reps = times) {
  const { q } = QUERIES[i]!;
  await db
    .transaction(async (tx: Tx) => {
      if (mode === "noIndex") await tx.execute(sql.raw(`drop index ${INDEXES.join(", ")}`));
      const s = searchQuery.parse({ q });
      if (record && !plans[mode][i]) {
        const st = searchStatement(tx, s, sortOf(s), undefined).toSQL();
        const rows = await tx.execute(sql.raw(`explain ${inline(st.sql, st.params)}`));
        plans[mode][i] = rows.map((r) => (r as Record<string, string>)["QUERY PLAN"]).join("\n");
        const [c] = await tx.execute<{ n: number }>(
          sql.raw(
            `select count(*)::int as n from (${inline(st.sql.replace(/ limit \$\d+$/, ""), st.params.slice(0, -1))}) x`,
          ),
        );
        matches[i] = Number(c!.n);
      }
      for (let k = 0; k < reps; k++) {
        const start = performance.now();
        await search(tx, s);
        if (record) samples[mode][i]!.push(performance.now() - start);
      }
      throw new Rollback();
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
}
class Rollback extends Error {}
/** The statement with its parameters written in, for EXPLAIN (plans of the statement as the route runs it). */
function inline(text: string, params: unknown[]) {
  return text.replace(/\$(\d+)/g, (_, i: string) => {
    const v = params[Number(i) - 1];
    return typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
  });
}

log("warming up");
for (const i of QUERIES.keys()) {
  await phase(i, "index", false, 3);
  await phase(i, "noIndex", false, 3);
}
const cpu = cpuStat();
t = performance.now();
for (let r = 1; r <= rounds; r++) {
  log(`round ${r} of ${rounds}`);
  // with and without side by side for each query, so a change in the machine's load falls on both
  for (const i of QUERIES.keys()) {
    await phase(i, "index", true);
    await phase(i, "noIndex", true);
  }
}
const steal = stealSince(cpu);
const wallS = (performance.now() - t) / 1000;
await db.$client.end();
await dropDatabase(url);

const all = (mode: Mode) => samples[mode].flat();
const rows = QUERIES.map((q, i) => ({
  ...q,
  matches: matches[i]!,
  index: { p50Ms: quantile(samples.index[i]!, 0.5), p99Ms: quantile(samples.index[i]!, 0.99) },
  noIndex: { p50Ms: quantile(samples.noIndex[i]!, 0.5), p99Ms: quantile(samples.noIndex[i]!, 0.99) },
  planIndex: plans.index[i]!,
  planNoIndex: plans.noIndex[i]!,
}));
const overall = { index: quantile(all("index"), 0.5), noIndex: quantile(all("noIndex"), 0.5) };
const report = {
  at: new Date().toISOString(),
  products: n,
  times,
  rounds,
  wallS,
  stealPct: steal,
  overallP50Ms: overall,
  queries: rows,
};

const f = (ms: number) => ms.toFixed(ms < 10 ? 2 : 1);
const scans = (plan: string) =>
  [...new Set(plan.match(/(Bitmap Index Scan on \w+|Seq Scan on \w+|Index Scan (?:Backward )?using \w+)/g) ?? [])].join(
    ", ",
  );
const md = `# Search over ${n.toLocaleString("en")} products, with and without the GIN indexes

\`bun run bench:search\` (${new Date(report.at).toISOString()}): a database of its own with ${n.toLocaleString("en")} products
(Korean compounds and English words, scripts/bench/lib/search-corpus.ts), each query run ${times} times with the indexes
then ${times} times without them (dropped inside a transaction that is rolled back), query after query, ${rounds} rounds,
through edge/catalog/search.ts (first page, 20 results, best match first, each planned for its words); one client,
one query at a time. Load average at the end: ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores (the machine is shared). Steal during the
measured rounds: ${steal.toFixed(1)}%.

**p50 over the whole mix: ${f(overall.index)} ms with the indexes, ${f(overall.noIndex)} ms without (${(overall.noIndex / overall.index).toFixed(1)}x).**

| query | matches | p50 with | p50 without | without / with | p99 with | p99 without | plan with the indexes |
|---|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.label}: \`${r.q}\` | ${r.matches} | ${f(r.index.p50Ms)} ms | ${f(r.noIndex.p50Ms)} ms | ${(r.noIndex.p50Ms / r.index.p50Ms).toFixed(1)}x | ${f(r.index.p99Ms)} ms | ${f(r.noIndex.p99Ms)} ms | ${scans(r.planIndex)} |`).join("\n")}

Without the indexes every query is a sequential scan (${[...new Set(rows.map((r) => scans(r.planNoIndex)))].join("; ")}).

## Plans (EXPLAIN, with the indexes)

${rows.map((r) => `\`${r.q}\`\n\n\`\`\`\n${r.planIndex}\n\`\`\``).join("\n\n")}
`;
mkdirSync(a.out!, { recursive: true });
writeFileSync(join(a.out!, "search.json"), JSON.stringify(report, null, 2));
writeFileSync(join(a.out!, "search.md"), md);
console.log(md);
