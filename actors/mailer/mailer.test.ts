// The mailer against a scratch database of its own and a real SMTP server (MailDev): two mailers sharing one
// outbox send each mail once; a failed send is put off with backoff and its error kept; a refusal is final.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import nodemailer from "nodemailer";
import { createDb, type Db, mails, runMigrations } from "../../db";
import { logger, uuidv7 } from "../../nats";
import { ensureMailDev, type MailDev, receivedMail } from "../../scripts/lib/maildev";
import { freePort, root } from "../../scripts/lib/private-stack";
import { dropDatabase, ensureDatabase } from "../../scripts/lib/services";
import { type MailerOptions, sendDue } from "./mailer";

const url = `postgres://postgres@127.0.0.1:5432/flashsale_mailer_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "flashsale-mailer-"));
let db: Db;
let mailDev: MailDev;

beforeAll(async () => {
  await dropDatabase(url);
  await ensureDatabase(url);
  await runMigrations(url);
  db = createDb(url, { max: 4 });
  mailDev = await ensureMailDev({ root, smtpPort: freePort(), webPort: freePort(), dataDir: dir });
}, 60_000);

afterAll(async () => {
  await db?.$client.end();
  await dropDatabase(url);
  mailDev?.started?.proc.kill();
  await mailDev?.started?.proc.exited;
  rmSync(dir, { recursive: true, force: true });
});

const log = logger({ test: "mailer" });
const options = (transport: MailerOptions["transport"]): MailerOptions => ({
  db,
  transport,
  from: "test <t@test.dev>",
  log,
  pollMs: 50,
  backoff: { baseMs: 60_000, maxMs: 60_000 },
});
const queue = (to: string) =>
  db
    .insert(mails)
    .values({
      id: uuidv7(),
      to,
      kind: "verify_email",
      subject: "s",
      text: "t",
      html: "<p>h</p>",
      expiresAt: new Date(Date.now() + 3600_000),
    })
    .returning();

describe("sendDue", () => {
  test("two mailers on one outbox: every mail goes out once", async () => {
    const tos = Array.from({ length: 120 }, (_, i) => `pair-${i}@test.dev`);
    for (const to of tos) await queue(to);
    const pooled = () => nodemailer.createTransport({ url: mailDev.smtpUrl, pool: true, maxConnections: 4 } as never);
    const a = options(pooled());
    const b = options(pooled());
    // more than one batch each: both take mails in every round, never the same ones
    const rounds: number[][] = [];
    for (
      let r = await Promise.all([sendDue(a), sendDue(b)]);
      r.some((n) => n > 0);
      r = await Promise.all([sendDue(a), sendDue(b)])
    )
      rounds.push(r);
    expect(rounds[0]).toEqual([50, 50]);
    const got = (await receivedMail(mailDev.webUrl)).filter((m) => m.to[0]!.address.startsWith("pair-"));
    expect(got.map((m) => m.to[0]!.address).sort()).toEqual([...tos].sort());
    const [left] = await db.select({ n: sql<number>`count(*)::int` }).from(mails).where(sql`sent_at is null`);
    expect(left!.n).toBe(0);
  });

  test("a failed send is put off by the backoff with its error kept; a 5xx refusal is given up", async () => {
    const [m] = await queue("flaky@test.dev");
    const down = {
      sendMail: async () =>
        Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ESOCKET" })),
    };
    expect(await sendDue(options(down))).toBe(1);
    const [after] = await db.select().from(mails).where(eq(mails.id, m!.id));
    expect(after!.attempts).toBe(1);
    expect(after!.lastError).toContain("ECONNREFUSED");
    expect(after!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 25_000); // half the 60 s step at least
    expect(await sendDue(options(down))).toBe(0); // not due yet

    await db.update(mails).set({ nextAttemptAt: new Date() }).where(eq(mails.id, m!.id));
    const refused = {
      sendMail: async () => Promise.reject(Object.assign(new Error("550 no such user"), { responseCode: 550 })),
    };
    expect(await sendDue(options(refused))).toBe(1);
    const [final] = await db.select().from(mails).where(eq(mails.id, m!.id));
    expect(final!.failedAt).not.toBeNull();
    expect([final!.text, final!.html, final!.sentAt]).toEqual([null, null, null]);
    expect(await sendDue(options(nodemailer.createTransport(mailDev.smtpUrl)))).toBe(0);
  });

  test("a mail that expires between a round's give-up and its take is not sent, and is given up next round", async () => {
    const sent: string[] = [];
    const transport = {
      sendMail: async (m: { to?: unknown }) => {
        sent.push(String(m.to));
        return {} as never;
      },
    };
    // the round's give-up has run when its take comes: the mail expires in between
    let expired: string | undefined;
    const between = Object.create(db, {
      execute: {
        value: async (q: Parameters<Db["execute"]>[0]) => {
          if (!expired) {
            const [m] = await queue("late@test.dev");
            await db
              .update(mails)
              .set({ expiresAt: new Date(Date.now() - 1000) })
              .where(eq(mails.id, m!.id));
            expired = m!.id;
          }
          return db.execute(q);
        },
      },
    }) as Db;
    expect(await sendDue({ ...options(transport), db: between })).toBe(0);
    expect(sent).toEqual([]);
    expect(await sendDue(options(transport))).toBe(0);
    const [m] = await db.select().from(mails).where(eq(mails.id, expired!));
    expect(m!.failedAt).not.toBeNull();
    expect([m!.sentAt, m!.text]).toEqual([null, null]);
    expect(sent).toEqual([]);
  });
});
