// CPU readings from /proc for the benches: the CPU the hypervisor took away (steal), and what processes used.
import { readFileSync } from "node:fs";

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
  return { name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), seconds: (Number(f[11]) + Number(f[12])) / 100 };
}
