// CPU readings from /proc for the benches: the CPU the hypervisor took away (steal), and what processes used.
import { readdirSync, readFileSync } from "node:fs";

/** The machine's CPU time so far, all of it and the steal, from /proc/stat. */
export function cpuStat() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((x, y) => x + y, 0), steal: f[7] ?? 0 };
}

/** The share of the machine's CPU time the hypervisor took away since `s`, in percent. */
export function stealSince(s: ReturnType<typeof cpuStat>): number {
  const e = cpuStat();
  return e.total > s.total ? (100 * (e.steal - s.steal)) / (e.total - s.total) : 0;
}

/** A process's name and CPU seconds (user + system) so far; undefined when it is gone. */
export function processCpu(pid: number | string): { name: string; seconds: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
    seconds: (Number(f[11]) + Number(f[12])) / 100,
  };
}

/** The processes whose command line matches `pattern` (a private server found by its port). */
export function pidsByCommand(pattern: RegExp): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (pattern.test(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "))) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU seconds used so far by these processes together (the ones gone count nothing). */
export const cpuOf = (pids: number[]) => pids.reduce((s, p) => s + (processCpu(p)?.seconds ?? 0), 0);
