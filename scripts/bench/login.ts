// `bun run bench:login`: a login storm against the real stack, beside the machine's own password-hashing rate
// measured in the same run. 300 signups at once, then 300 logins at once (each shopper from its own address),
// then logins held at a steady 64 in flight for a few seconds: answers, refusals (503 BUSY, 429) and latency,
// and logins/s against the hashes/s this machine does at the same argon2id cost with as many running at once.
// Writes scripts/bench/results/login.{md,json}. Options: --people N (300), --seconds N (5).
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ARGON2 } from "../../edge/auth/passwords";
import { edgeCount } from "../lib/edges";
import { root, startPrivateStack } from "../lib/private-stack";

const { values: a } = parseArgs({
  options: {
    people: { type: "string", default: "300" },
    seconds: { type: "string", default: "5" },
    out: { type: "string", default: join(root, "scripts/bench/results") },
  },
});
const people = Number(a.people);
const seconds = Number(a.seconds);
const cores = availableParallelism();
const edges = edgeCount(process.env);
const log = (msg: string) => console.error(`[bench:login] ${msg}`);

/** Hashes per second at `params`, `cores` at a time, for `s` seconds, in this process (the stack idle). */
async function hashRate(params: object, s: number): Promise<number> {
  const end = performance.now() + s * 1000;
  const started = performance.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: cores }, async () => {
      while (performance.now() < end) {
        await Bun.password.hash("Passw0rd!-bench", params as never);
        n++;
      }
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

type Answer = { status: number; ms: number; retryAfter: string | null };
const quantile = (xs: number[], q: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
const summary = (answers: Answer[], wallS: number, ok: number) => {
  const by: Record<string, number> = {};
  for (const x of answers) by[x.status] = (by[x.status] ?? 0) + 1;
  const refusals = answers.filter((x) => x.status === 503 || x.status === 429);
  return {
    answers: answers.length,
    byStatus: by,
    okPerS: (by[ok] ?? 0) / wallS,
    wallS,
    p50Ms: quantile(
      answers.map((x) => x.ms),
      0.5,
    ),
    p99Ms: quantile(
      answers.map((x) => x.ms),
      0.99,
    ),
    maxMs: Math.max(...answers.map((x) => x.ms)),
    refusalsWithRetryAfter: refusals.filter((x) => Number(x.retryAfter) >= 1).length,
    refusals: refusals.length,
  };
};

const s = await startPrivateStack({
  name: "bench_login",
  logFile: join(root, ".data", "bench-login.log"),
  env: { LOG_LEVEL: "warn", TRUSTED_PROXIES: "127.0.0.1/32" },
});
try {
  const call = async (path: string, body: unknown, ip: string): Promise<Answer> => {
    const t = performance.now();
    const r = await fetch(s.edgeUrl + path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify(body),
    });
    await r.arrayBuffer();
    return { status: r.status, ms: performance.now() - t, retryAfter: r.headers.get("retry-after") };
  };
  const run = `${Date.now()}`;
  const who = Array.from({ length: people }, (_, i) => ({
    email: `login-${run}-${i}@bench.dev`,
    password: "Passw0rd!",
    name: "bench",
    ip: `198.18.${i >> 8}.${i & 255}`,
  }));

  const ownRate = await hashRate(ARGON2, seconds);
  const bunDefaultRate = await hashRate({ algorithm: "argon2id" }, seconds);
  log(
    `this machine: ${ownRate.toFixed(1)} hashes/s at m=${ARGON2.memoryCost} KiB t=${ARGON2.timeCost}, ${bunDefaultRate.toFixed(1)}/s at Bun's default (m=64 MiB), ${cores} at a time`,
  );

  let t = performance.now();
  const signups = await Promise.all(
    who.map((p) => call("/v1/auth/signup", { email: p.email, password: p.password, name: p.name }, p.ip)),
  );
  const signup = summary(signups, (performance.now() - t) / 1000, 201);
  log(`${people} signups at once: ${JSON.stringify(signup.byStatus)}, max ${signup.maxMs.toFixed(0)} ms`);
  const created = who.filter((_, i) => signups[i]!.status === 201);

  t = performance.now();
  const logins = await Promise.all(
    created.map((p) => call("/v1/auth/login", { email: p.email, password: p.password }, p.ip)),
  );
  const burst = summary(logins, (performance.now() - t) / 1000, 200);
  log(`${created.length} logins at once: ${JSON.stringify(burst.byStatus)}, max ${burst.maxMs.toFixed(0)} ms`);

  // held at 64 in flight: the steady rate, each account from its own address (the login brake allows 10 a minute)
  const steadyAnswers: Answer[] = [];
  const end = performance.now() + seconds * 1000;
  t = performance.now();
  let k = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) {
        const p = created[k++ % created.length]!;
        steadyAnswers.push(
          await call("/v1/auth/login", { email: p.email, password: p.password }, `198.19.${(k >> 8) & 255}.${k & 255}`),
        );
      }
    }),
  );
  const steady = summary(steadyAnswers, (performance.now() - t) / 1000, 200);
  log(`steady: ${steady.okPerS.toFixed(1)} logins/s, ${JSON.stringify(steady.byStatus)}`);

  const result = {
    when: new Date().toISOString(),
    cores,
    argon2: ARGON2,
    hashesPerS: { own: ownRate, bunDefault: bunDefaultRate },
    signupBurst: signup,
    loginBurst: burst,
    steady,
    ratios: { steadyLoginsVsHashes: steady.okPerS / ownRate, ownVsBunDefault: ownRate / bunDefaultRate },
  };
  const f = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const row = (name: string, x: ReturnType<typeof summary>) =>
    `| ${name} | ${x.answers} | ${Object.entries(x.byStatus)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ")} | ${f(x.p50Ms)} | ${f(x.p99Ms)} | ${f(x.maxMs)} | ${x.refusalsWithRetryAfter}/${x.refusals} |`;
  const md = `# Login bench

${result.when}. The whole stack (${cores} cores, ${edges} edge process(es), each hashing ${Math.max(1, Math.floor(cores / edges))} at a time), each shopper from its own address through a trusted loopback proxy.

## Against this machine's own hashing rate, measured in the same run

| | rate |
|---|---|
| argon2id at m=${ARGON2.memoryCost} KiB, t=${ARGON2.timeCost}, p=1 (OWASP's minimum, this product's cost), ${cores} at a time | ${f(ownRate, 1)} hashes/s |
| argon2id at Bun's default (m=64 MiB, t=2), ${cores} at a time | ${f(bunDefaultRate, 1)} hashes/s (${f(result.ratios.ownVsBunDefault, 1)}x slower) |
| logins through the edge, 64 in flight for ${seconds} s | ${f(steady.okPerS, 1)} logins/s = **${f(result.ratios.steadyLoginsVsHashes, 2)}x** the hashing rate |

## Bursts

| | answers | statuses | p50 ms | p99 ms | max ms | refusals with Retry-After |
|---|---|---|---|---|---|---|
${row(`${people} signups at once`, signup)}
${row(`${created.length} logins at once (the accounts created)`, burst)}
${row(`logins, 64 in flight for ${seconds} s`, steady)}

A refusal is \`503 BUSY\` (the hash would not be done within \`HASH_MAX_WAIT_MS\` or the request's deadline) or \`429\` (the login brake); neither hashes nor writes anything.

Command: \`bun run bench:login --people ${people} --seconds ${seconds}\`
`;
  mkdirSync(a.out!, { recursive: true });
  writeFileSync(join(a.out!, "login.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(a.out!, "login.md"), md);
  console.log(md);
  if (signups.some((x) => x.status === 504) || logins.some((x) => x.status === 504)) process.exitCode = 1;
} finally {
  await s.stop();
}
