// Runs wrk (Debian's package) and reads its results; wrk out-drives JavaScript load generators here.
export type WrkResult = {
  statuses: Record<string, number>;
  requests: number;
  durationUs: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  rps: number;
};

/** wrk's path; installed from Debian's packages when missing and this runs as root (as `up` does for the servers). */
export function requireWrk(): string {
  let bin = Bun.which("wrk");
  if (!bin && process.getuid?.() === 0) {
    console.error("wrk is missing: installing Debian's package");
    Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "ignore", stderr: "inherit" });
    Bun.spawnSync(["apt-get", "install", "-y", "-qq", "wrk"], {
      stdout: "ignore",
      stderr: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    bin = Bun.which("wrk");
  }
  if (!bin) throw new Error("wrk is not installed: run `apt-get install -y wrk` (Debian's package) as root");
  return bin;
}

const plainScript = `
function done(summary, latency, requests)
  io.write(string.format('WRK_JSON {"statuses":{},"requests":%d,"durationUs":%d,"errors":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
`;

export async function wrk(o: {
  url: string;
  threads: number;
  connections: number;
  seconds: number;
  script?: string;
  args?: string[];
  stop?: Promise<void>;
}): Promise<WrkResult> {
  let script = o.script;
  if (!script) {
    script = `/tmp/wrk-plain-${process.pid}.lua`;
    await Bun.write(script, plainScript);
  }
  const proc = Bun.spawn(
    [
      requireWrk(),
      `-t${o.threads}`,
      `-c${o.connections}`,
      `-d${o.seconds}s`,
      "--timeout",
      "10s",
      "-s",
      script,
      o.url,
      ...(o.args?.length ? ["--", ...o.args] : []),
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  // the caller may stop wrk early (SIGINT makes it print its results); else it runs its duration
  o.stop?.then(() => proc.kill("SIGINT"));
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const line = out.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no result:\n${out}\n${await new Response(proc.stderr).text()}`);
  const r = JSON.parse(line.slice(9)) as Omit<WrkResult, "rps">;
  return { ...r, rps: r.requests / (r.durationUs / 1e6) };
}
