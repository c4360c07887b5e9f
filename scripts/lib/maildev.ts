// MailDev (npm `maildev`): an SMTP server that keeps every mail and shows them on a web page, with a REST API
// (GET /email) the tests read. Started for a stack that has no MAIL_URL of its own.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { reachable, type Started } from "./services";

export type MailDev = { smtpUrl: string; webUrl: string; started?: Started };

async function waitUp(port: number, ms = 15_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await reachable("127.0.0.1", port)) return;
    await Bun.sleep(100);
  }
  throw new Error(`MailDev did not come up on 127.0.0.1:${port}`);
}

/** Starts MailDev on 127.0.0.1 (SMTP and web ports), keeping its mail under `dataDir`; one that answers already is used as it is. */
export async function ensureMailDev(o: {
  root: string;
  smtpPort: number;
  webPort: number;
  dataDir: string;
}): Promise<MailDev> {
  const urls = { smtpUrl: `smtp://127.0.0.1:${o.smtpPort}`, webUrl: `http://127.0.0.1:${o.webPort}` };
  if ((await reachable("127.0.0.1", o.smtpPort)) && (await reachable("127.0.0.1", o.webPort))) return urls;
  const dir = join(o.dataDir, `maildev-${o.smtpPort}`);
  mkdirSync(dir, { recursive: true });
  const bin = join(o.root, "node_modules", "maildev", "bin", "maildev");
  const args = [
    "--smtp",
    String(o.smtpPort),
    "--web",
    String(o.webPort),
    "--ip",
    "127.0.0.1",
    "--web-ip",
    "127.0.0.1",
    "--mail-directory",
    dir,
    "--silent",
  ];
  const proc = Bun.spawn([process.execPath, bin, ...args], { stdout: "ignore", stderr: "inherit" });
  await Promise.all([waitUp(o.smtpPort), waitUp(o.webPort)]);
  return { ...urls, started: { name: "maildev", proc } };
}

/** One mail as MailDev's REST API gives it (the fields the tests read). */
export type ReceivedMail = {
  id: string;
  subject: string;
  text: string;
  html: string;
  to: { address: string }[];
  headers: Record<string, string>;
  messageId: string;
};

/** Every mail MailDev holds. */
export async function receivedMail(webUrl: string): Promise<ReceivedMail[]> {
  const r = await fetch(`${webUrl}/email`);
  if (!r.ok) throw new Error(`MailDev answered ${r.status}`);
  return (await r.json()) as ReceivedMail[];
}
