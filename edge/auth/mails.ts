// The mails the accounts send, in text and HTML, written to the mail outbox in the caller's transaction
// (the mailer actor sends them). The text part holds the link on a line of its own.
import { mails, type Tx } from "../../db";
import { uuidv7 } from "../../nats";
import { mintEmailToken, type TokenPurpose } from "./email-tokens";

export type MailContent = { subject: string; text: string; html: string };

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const templates: Record<
  TokenPurpose,
  { path: string; subject: string; intro: string; action: string; ttl: string; outro: string }
> = {
  verify_email: {
    path: "/verify-email",
    subject: "Confirm your email address",
    intro: "Please confirm that this is your email address by opening this link:",
    action: "Confirm my email",
    ttl: "The link works once, for 24 hours.",
    outro: "If you did not create an account, ignore this mail.",
  },
  reset_password: {
    path: "/reset-password",
    subject: "Reset your password",
    intro: "Someone asked to reset the password of your account. To choose a new one, open this link:",
    action: "Choose a new password",
    ttl: "The link works once, for 30 minutes. Every session of the account ends when the password changes.",
    outro: "If you did not ask for this, ignore this mail: your password stays as it is.",
  },
};

/** The link a mail carries: `<PUBLIC_URL>/verify-email?token=...` or `<PUBLIC_URL>/reset-password?token=...`. */
export function mailLink(publicUrl: string, purpose: TokenPurpose, token: string): string {
  return `${publicUrl.replace(/\/+$/, "")}${templates[purpose].path}?token=${encodeURIComponent(token)}`;
}

export function renderMail(purpose: TokenPurpose, o: { name: string; link: string }): MailContent {
  const t = templates[purpose];
  const text = [`Hello ${o.name},`, "", t.intro, "", o.link, "", t.ttl, "", t.outro, "", "-- flashsale", ""].join("\n");
  const link = escapeHtml(o.link);
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello ${escapeHtml(o.name)},</p>
<p>${escapeHtml(t.intro)}</p>
<p><a href="${link}" style="display: inline-block; padding: .6em 1.2em; background: #1a56db; color: #fff; text-decoration: none; border-radius: 4px">${escapeHtml(t.action)}</a></p>
<p style="font-size: .9em">Or copy this address into your browser: <br><a href="${link}">${link}</a></p>
<p style="font-size: .9em; color: #555">${escapeHtml(t.ttl)}<br>${escapeHtml(t.outro)}</p>
<p>-- flashsale</p>
</body></html>
`;
  return { subject: t.subject, text, html };
}

/** Queues a mail in the caller's transaction: it is sent once that commits, and never after `expiresAt`. */
export async function enqueueMail(tx: Tx, to: string, kind: TokenPurpose, content: MailContent, expiresAt: Date) {
  await tx.insert(mails).values({ id: uuidv7(), to, kind, ...content, expiresAt });
}

/** Mints a one-time token for the user and queues the mail that carries its link, in the caller's transaction. */
export async function mailToken(
  tx: Tx,
  publicUrl: string,
  user: { id: string; email: string; name: string },
  purpose: TokenPurpose,
) {
  const { token, expiresAt } = await mintEmailToken(tx, user.id, purpose);
  const link = mailLink(publicUrl, purpose, token);
  await enqueueMail(tx, user.email, purpose, renderMail(purpose, { name: user.name, link }), expiresAt);
}
