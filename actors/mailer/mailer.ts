// The mailer: sends the mail outbox (messaging.mails) over SMTP. Each round takes the mails that are due, holding
// them for MAIL_LEASE_MS (several mailers never send one mail at the same time), sends them one by one and marks
// each sent, or due again after a backoff. A mail server that is down only delays the mails: they are tried until
// their link expires. A mailer that dies mid-send leaves its mails to be taken again once the lease ends.
import { eq, sql } from "drizzle-orm";
import type { Transporter } from "nodemailer";
import { type Db, mails } from "../../db";
import { type Logger, repeat } from "../../nats";
import { isPermanent, retryDelayMs } from "./backoff";

/** How long a taken mail is held by its mailer: past every SMTP timeout of one send. */
export const MAIL_LEASE_MS = 60_000;
/** SMTP connection, greeting and socket timeouts of one send. */
export const SMTP_TIMEOUT_MS = 10_000;
const BATCH = 50;
/** Mails of a round sent at once, and the SMTP connections the transport pools for them. */
export const SEND_CONCURRENCY = 4;

export type MailerOptions = {
  db: Db;
  transport: Pick<Transporter, "sendMail">;
  from: string;
  log: Logger;
  pollMs: number;
  backoff: { baseMs: number; maxMs: number };
};

type Due = {
  id: string;
  to: string;
  kind: string;
  subject: string;
  text: string | null;
  html: string | null;
  attempts: number;
};

/**
 * One round: gives up expired mails, then takes and sends the due ones that have not expired since (they are given
 * up the next round). Returns how many it tried.
 */
export async function sendDue(o: MailerOptions): Promise<number> {
  const expired = await o.db
    .update(mails)
    .set({ failedAt: sql`now()`, text: null, html: null, lastError: "expired before it could be sent" })
    .where(sql`${mails.sentAt} is null and ${mails.failedAt} is null and ${mails.expiresAt} <= now()`)
    .returning({ id: mails.id, kind: mails.kind });
  for (const m of expired)
    o.log.warn("mail given up: its link expired before it could be sent", { mailId: m.id, kind: m.kind });

  const due = (await o.db.execute(sql`
    update messaging.mails set next_attempt_at = now() + ${MAIL_LEASE_MS} * interval '1 millisecond', attempts = attempts + 1
    where id in (
      select id from messaging.mails
      where sent_at is null and failed_at is null and next_attempt_at <= now() and expires_at > now()
      order by next_attempt_at limit ${BATCH} for update skip locked)
    returning id, "to", kind, subject, text, html, attempts`)) as unknown as Due[];

  async function send(m: Due) {
    try {
      await o.transport.sendMail({
        from: o.from,
        to: m.to,
        subject: m.subject,
        text: m.text ?? undefined,
        html: m.html ?? undefined,
        // the same id on every attempt: a mail sent twice (a mailer died between send and mark) is recognisable
        messageId: `<${m.id}@flashsale>`,
      });
      await o.db
        .update(mails)
        .set({ sentAt: sql`now()`, text: null, html: null, lastError: null })
        .where(eq(mails.id, m.id));
      o.log.info("mail sent", { mailId: m.id, kind: m.kind, attempts: m.attempts });
    } catch (err) {
      const lastError = String((err as Error)?.message ?? err).slice(0, 500);
      if (isPermanent(err)) {
        await o.db
          .update(mails)
          .set({ failedAt: sql`now()`, text: null, html: null, lastError })
          .where(eq(mails.id, m.id));
        o.log.error("mail refused by the mail server: given up", { mailId: m.id, kind: m.kind, err });
        return;
      }
      const delay = retryDelayMs(m.attempts, o.backoff);
      await o.db
        .update(mails)
        .set({ nextAttemptAt: sql`now() + ${delay} * interval '1 millisecond'`, lastError })
        .where(eq(mails.id, m.id));
      o.log.warn("mail not sent: retrying", {
        mailId: m.id,
        kind: m.kind,
        attempts: m.attempts,
        retryInMs: delay,
        err,
      });
    }
  }
  // a few at a time (the transport's pool holds that many connections)
  const queue = [...due];
  const sender = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) await send(m);
  };
  await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, queue.length) }, sender));
  return due.length;
}

/** Runs rounds every `pollMs` (at once again while rounds come back full) until the returned function stops it. */
export function startMailer(o: MailerOptions): () => Promise<void> {
  return repeat(
    o.pollMs,
    async () => {
      while ((await sendDue(o)) === BATCH);
    },
    (err) => o.log.error("mailer round failed", { err }),
  );
}
