// The whole stack for tests (scripts/lib/private-stack.ts), shared by the test files of one `bun test` run.
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { dlqSubject, type Envelope, letterHeaders, uuidv7 } from "../nats";
import { admin, freePort, type PrivateStack, root, startPrivateStack } from "../scripts/lib/private-stack";
import { ensureRedis } from "../scripts/lib/services";
import { eventually } from "./client";

export { admin, root };
/** Child output of this run's stack; one file per test process, so parallel runs do not mix. */
export const logFile = join(root, ".data", `test-stack-${process.pid}.log`);

let current: Promise<PrivateStack> | undefined;

/** The shared stack of this test run, started on first use. */
export function stack(opts: { replicas?: number } = {}): Promise<PrivateStack> {
  current ??= startPrivateStack({
    name: `test_${process.pid}`,
    databaseUrl: process.env.TEST_DATABASE_URL,
    logFile,
    replicas: opts.replicas,
    env: {
      PAYMENT_DEADLINE_MS: "1500",
      // half the charges settle from the gateway's answer, half by its signed webhook: every test takes both ways
      GATEWAY_ASYNC_RATE: "0.5",
      HOLD_GRACE_MS: "10000",
      LOG_LEVEL: "info",
      // one edge process: the whole-stack tests read one process's state (tests/opening-burst.test.ts runs two)
      EDGE_PROCESSES: "1",
      RATE_LIMIT_CAPACITY: "100000",
      RATE_LIMIT_REFILL_PER_S: "100000",
      // every test file of the run logs its users in from 127.0.0.1 (tests/security.test.ts checks the brake)
      LOGIN_LIMIT_PER_MIN: "100000",
    },
  });
  return current;
}

export async function stopStack() {
  if (!current) return;
  const s = await current.catch(() => undefined);
  current = undefined;
  await s?.stop();
}

/**
 * A stack of one test file's own. The shared stack stops first (the next file that needs it starts it again), so
 * one stack at a time holds Postgres connections: a default server's 100 do not fit two.
 */
export async function ownStack(o: Parameters<typeof startPrivateStack>[0]): Promise<PrivateStack> {
  await stopStack();
  return startPrivateStack(o);
}

/**
 * One more edge process on a stack's services, on a port of its own, `env` on top of the stack's; its stderr
 * goes to `.data/test-<name>-edge-<pid>.log`. Resolves once it answers /readyz.
 */
export async function extraEdge(
  s: PrivateStack,
  name: string,
  env: Record<string, string> = {},
  readyWithinMs = 30_000,
): Promise<{ url: string; proc: Bun.Subprocess }> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = join(root, ".data", `test-${name}-edge-${process.pid}.log`);
  const proc = Bun.spawn([process.execPath, "edge/main.ts"], {
    cwd: root,
    env: { ...s.env, PORT: String(port), ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  void (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) appendFileSync(log, chunk);
  })();
  await eventually(
    () =>
      fetch(`${url}/readyz`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      ),
    readyWithinMs,
    `the ${name} edge`,
  );
  return { url, proc };
}

/** A Redis server of one test file's own, on a free port with a scratch folder; `stop` ends it and removes the folder. */
export async function scratchRedis(name: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const port = freePort();
  const server = await ensureRedis(`redis://127.0.0.1:${port}`, dir);
  return {
    port,
    stop: async () => {
      server?.proc.kill("SIGTERM");
      await server?.proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Files `env` in the DLQ as a worker does when its deliveries ran out (6), `error` its last error. */
export async function fileDeadLetter(
  js: JetStreamClient,
  env: Envelope,
  o: { consumer: string; error: string; headers?: MsgHdrs },
): Promise<void> {
  const h = letterHeaders(o.headers, { subject: env.type, consumer: o.consumer, deliveries: 6 }, new Error(o.error));
  await js.publish(dlqSubject(o.consumer), JSON.stringify(env), { headers: h, msgID: `test:${uuidv7()}` });
}
