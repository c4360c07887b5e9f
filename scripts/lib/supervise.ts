// Runs the stack's processes as children with labelled output, restarts one that dies (with backoff,
// like compose's restart policy), and stops them all on request.
import { setPriority } from "node:os";

/** `nice`: the process's CPU priority (0 normal; higher yields the CPU to the others). */
export type ProcSpec = { label: string; cmd: string[]; env?: Record<string, string>; nice?: number };

const colors = [36, 33, 35, 32, 34, 31, 96, 93];

export type SuperviseOptions = {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Where labelled lines go; the terminal by default. */
  write?: (line: string, isErr: boolean) => void;
};

export function supervise(specs: ProcSpec[], opts: SuperviseOptions) {
  const write = opts.write ?? ((line: string, isErr: boolean) => (isErr ? process.stderr : process.stdout).write(line));
  const width = Math.max(...specs.map((s) => s.label.length));
  let stopping = false;
  const running = new Map<string, Bun.Subprocess>();

  async function pipe(stream: ReadableStream<Uint8Array> | null, prefix: string, isErr: boolean) {
    if (!stream) return;
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      for (const l of lines) write(`${prefix} ${l}\n`, isErr);
    }
    if (rest) write(`${prefix} ${rest}\n`, isErr);
  }

  function start(spec: ProcSpec, i: number, failures = 0) {
    const prefix = opts.write
      ? `${spec.label.padEnd(width)} |`
      : `\x1b[${colors[i % colors.length]}m${spec.label.padEnd(width)} |\x1b[0m`;
    const startedAt = Date.now();
    const proc = Bun.spawn(spec.cmd, {
      cwd: opts.cwd,
      env: { ...opts.env, ...spec.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    running.set(spec.label, proc);
    if (spec.nice)
      try {
        setPriority(proc.pid, spec.nice);
      } catch (err) {
        write(`${prefix} could not lower its CPU priority: ${err}\n`, true);
      }
    void pipe(proc.stdout as ReadableStream<Uint8Array>, prefix, false);
    void pipe(proc.stderr as ReadableStream<Uint8Array>, prefix, true);
    void proc.exited.then((code) => {
      if (stopping) return;
      const next = Date.now() - startedAt > 30_000 ? 0 : failures + 1;
      const delay = Math.min(500 * 2 ** next, 15_000);
      write(`${prefix} exited with ${code}; restarting in ${delay} ms\n`, true);
      setTimeout(() => !stopping && start(spec, i, next), delay);
    });
  }

  for (const [i, s] of specs.entries()) start(s, i);

  return {
    running,
    /** SIGTERM to every child, SIGKILL to any still there after `graceMs`. */
    async stop(graceMs = 10_000) {
      stopping = true;
      const procs = [...running.values()];
      for (const p of procs) p.kill("SIGTERM");
      const timer = setTimeout(() => {
        for (const p of procs) p.kill("SIGKILL");
      }, graceMs);
      await Promise.all(procs.map((p) => p.exited));
      clearTimeout(timer);
    },
  };
}

/**
 * Runs `stop` once, then exits, on Ctrl-C, SIGTERM, or when the runner that started this process (npm run) is
 * gone: a foreground stack's children must not outlive it.
 */
export function stopOnExit(stop: () => Promise<void>) {
  let stopping = false;
  const once = async () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping...");
    await stop();
    process.exit(0);
  };
  process.on("SIGINT", once);
  process.on("SIGTERM", once);
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && once(), 1000).unref();
}
