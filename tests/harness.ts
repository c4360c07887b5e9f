// The whole stack for tests: private NATS and Redis servers on free ports (from the installed
// binaries), a fresh Postgres database, and every process of the stack as in `bun run up`.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropDatabase } from "../scripts/lib/services";
import { startStack } from "../scripts/stack";

export const root = join(import.meta.dir, "..");
/** Child output of this run's stack; one file per test process, so parallel runs do not mix. */
export const logFile = join(root, ".data", `test-stack-${process.pid}.log`);
export const admin = { email: "admin@example.com", password: "Adm1n!pass" };

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

type Stack = Awaited<ReturnType<typeof startStack>> & { env: Record<string, string> };
let current: Promise<Stack> | undefined;
let dirs: string[] = [];

/** The shared stack of this test run, started on first use. */
export function stack(opts: { replicas?: number } = {}): Promise<Stack> {
  current ??= (async () => {
    const data = mkdtempSync(join(tmpdir(), "flashsale-test-"));
    dirs.push(data);
    const [edge, gateway, redis, nats] = [freePort(), freePort(), freePort(), freePort()];
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      DATABASE_URL: process.env.TEST_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/flashsale_test_${process.pid}`,
      REDIS_URL: `redis://127.0.0.1:${redis}`,
      NATS_URL: `nats://127.0.0.1:${nats}`,
      PORT: String(edge),
      GATEWAY_PORT: String(gateway),
      PAYMENT_GATEWAY_URL: `http://127.0.0.1:${gateway}`,
      GATEWAY_WEBHOOK_URL: `http://127.0.0.1:${edge}/v1/payments/webhook`,
      PAYMENT_DEADLINE_MS: "1500",
      HOLD_GRACE_MS: "3000",
      KEYS_DIR: join(data, "keys"),
      LOG_LEVEL: "info",
      RATE_LIMIT_CAPACITY: "100000",
      RATE_LIMIT_REFILL_PER_S: "100000",
    };
    await dropDatabase(env.DATABASE_URL!);
    mkdirSync(join(root, ".data"), { recursive: true });
    rmSync(logFile, { force: true });
    const s = await startStack({
      root,
      env,
      dataDir: data,
      admin,
      replicas: opts.replicas,
      write: (line) => appendFileSync(logFile, line),
    });
    return { ...s, env };
  })();
  return current;
}

export async function stopStack() {
  if (!current) return;
  const s = await current.catch(() => undefined);
  current = undefined;
  await s?.stop();
  if (s && !process.env.TEST_DATABASE_URL) await dropDatabase(s.env.DATABASE_URL!);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
}
