// The mail outbox when the mail server is down: signups go on, their mails wait in Postgres and are retried with
// backoff, and once the server is up every mail goes out exactly once. Mails whose link expired are given up.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { ensureMailDev, type MailDev, receivedMail } from "../scripts/lib/maildev";
import { freePort, type PrivateStack, root } from "../scripts/lib/private-stack";
import { client, eventually } from "./client";
import { ownStack } from "./harness";

const SIGNUPS = 8;
const smtpPort = freePort();
let s: PrivateStack;
let sql: postgres.Sql;
let mailDev: MailDev | undefined;
const dir = mkdtempSync(join(tmpdir(), "flashsale-mail-outbox-"));

beforeAll(async () => {
  s = await ownStack({
    name: `mail_outbox_${process.pid}`,
    logFile: join(root, ".data", `test-mail-outbox-${process.pid}.log`),
    // nothing listens here yet: the mail server is down
    env: {
      EDGE_PROCESSES: "1",
      MAIL_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_BACKOFF_MS: "200",
      MAIL_BACKOFF_MAX_MS: "1500",
      LOGIN_LIMIT_PER_MIN: "100000",
    },
  });
  sql = postgres(s.env.DATABASE_URL!, { max: 2, onnotice: () => {} });
}, 120_000);

afterAll(async () => {
  await sql?.end();
  await s?.stop();
  if (mailDev?.started) {
    mailDev.started.proc.kill();
    await mailDev.started.proc.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test("SMTP down, then up: every mail is retried and goes out once", async () => {
  const api = client(s.edgeUrl);
  const emails = Array.from({ length: SIGNUPS }, (_, i) => `down-${i}-${Date.now()}@outbox.test`);
  for (const email of emails)
    expect(
      (await api.call("POST", "/v1/auth/signup", { body: { email, password: "Passw0rd!", name: "n" } })).status,
    ).toBe(201);

  // each mail is tried and fails a few times while the server is down
  await eventually(
    async () => {
      const [row] =
        await sql`select count(*)::int as n from messaging.mails where attempts >= 3 and sent_at is null and last_error is not null`;
      return row!.n === SIGNUPS ? true : undefined;
    },
    30_000,
    "every mail to have failed three times",
  );

  const web = freePort();
  mailDev = await ensureMailDev({ root, smtpPort, webPort: web, dataDir: dir });
  const got = await eventually(
    async () => {
      const mails = await receivedMail(mailDev!.webUrl);
      return mails.length >= SIGNUPS ? mails : undefined;
    },
    20_000,
    "every mail to arrive",
  );
  // a few more rounds of the mailer: nothing is sent again
  await Bun.sleep(3000);
  const all = await receivedMail(mailDev.webUrl);
  expect(all.length).toBe(SIGNUPS);
  expect(all.map((m) => m.to[0]!.address).sort()).toEqual([...emails].sort());
  expect(new Set(got.map((m) => m.messageId)).size).toBe(SIGNUPS);
  for (const m of all) expect(m.text).toContain(`${s.env.PUBLIC_URL}/verify-email?token=`);

  const rows = await sql`select sent_at, failed_at, text, html, attempts from messaging.mails`;
  expect(rows.length).toBe(SIGNUPS);
  for (const r of rows) {
    expect(r.sent_at).not.toBeNull();
    expect(r.failed_at).toBeNull();
    expect(r.attempts).toBeGreaterThanOrEqual(4);
    // a sent mail's link is not kept
    expect([r.text, r.html]).toEqual([null, null]);
  }
}, 90_000);

test("a mail whose link expired before it could be sent is given up, not sent", async () => {
  await sql`insert into messaging.mails (id, "to", kind, subject, text, html, expires_at)
            values (${crypto.randomUUID()}, 'late@outbox.test', 'verify_email', 'late', 'x', 'x', now() - interval '1 second')`;
  const row = await eventually(async () => {
    const [r] = await sql`select failed_at, sent_at, text from messaging.mails where "to" = 'late@outbox.test'`;
    return r?.failed_at ? r : undefined;
  });
  expect(row.sent_at).toBeNull();
  expect(row.text).toBeNull();
  await Bun.sleep(1000);
  expect((await receivedMail(mailDev!.webUrl)).filter((m) => m.to[0]!.address === "late@outbox.test")).toEqual([]);
});
