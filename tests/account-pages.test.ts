// The accounts' pages in a real browser (headless Chromium): the mailed links' pages, and passkeys with the DevTools
// virtual authenticator, registered on the edge's /passkeys page and used to log in (discoverable and email
// first); then real assertions, forged, replayed and with a counter that went back, are refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import postgres from "postgres";
import type { Browser, Page } from "puppeteer-core";
import { PASSKEY_CHALLENGE_TTL_S } from "../edge/auth/passkeys";
import { receivedMail } from "../scripts/lib/maildev";
import { addVirtualAuthenticator, type BrowserGlobals, launchBrowser, waitForText } from "./browser";
import { client, eventually, type Json } from "./client";
import { stack } from "./harness";

let api: ReturnType<typeof client>;
let browser: Browser;
let page: Page;
let origin: string;
let sql: postgres.Sql;
let redis: Redis;
let mailWebUrl: string;
let user: Awaited<ReturnType<ReturnType<typeof client>["user"]>>;
const status = '[data-field="status"]';

beforeAll(async () => {
  const s = await stack();
  api = client(s.edgeUrl);
  origin = s.env.RP_ORIGIN!;
  mailWebUrl = s.mailWebUrl!;
  sql = postgres(s.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  redis = new Redis(s.env.REDIS_URL!);
  user = await api.user();
  browser = await launchBrowser();
  page = await browser.newPage();
  await addVirtualAuthenticator(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await sql?.end();
  redis?.disconnect();
});

/** The authenticator's answer to login options, made in the page (as a browser would send it), not sent. */
async function assertion(email?: string): Promise<Json> {
  const options = (await api.call("POST", "/v1/auth/passkeys/login/options", { body: email ? { email } : {} })).body;
  return page.evaluate(async (o) => {
    const g = globalThis as unknown as BrowserGlobals;
    return (
      await g.navigator.credentials.get({ publicKey: g.PublicKeyCredential.parseRequestOptionsFromJSON(o) })
    ).toJSON();
  }, options);
}

const flipLastByte = (b64: string) => {
  const bytes = Buffer.from(b64, "base64url");
  bytes[bytes.length - 1]! ^= 0xff;
  return bytes.toString("base64url");
};

describe("passkeys", () => {
  test("in the browser: log in, register a passkey, log out, log in with it (discoverable, then email first)", async () => {
    await page.goto(`${origin}/passkeys`);
    await page.type('input[name="email"]', user.email);
    await page.type('input[name="password"]', user.password);
    await page.click('#login button[type="submit"]');
    await waitForText(page, status, `Signed in with a password as ${user.email}`);

    await page.click('[data-action="register-passkey"]');
    await waitForText(page, status, "Passkey registered");
    const list = await api.call("GET", "/v1/me/passkeys", { token: user.token });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ lastUsedAt: null, transports: expect.any(Array) });

    await page.click('[data-action="logout"]');
    await waitForText(page, status, "Signed out");
    await page.click('[data-action="passkey-login"]');
    await waitForText(page, status, `Signed in with a passkey as ${user.email}`);

    await page.click('[data-action="logout"]');
    await waitForText(page, status, "Signed out");
    await page.type('input[name="passkey-email"]', user.email);
    await page.click('[data-action="passkey-login"]');
    await waitForText(page, status, `Signed in with a passkey as ${user.email}`);
    expect((await api.call("GET", "/v1/me/passkeys", { token: user.token })).body.items[0].lastUsedAt).not.toBeNull();
  }, 60_000);

  test("a login gives a token pair; the same answer again is refused (its challenge was used)", async () => {
    const a = await assertion(user.email);
    const ok = await api.call("POST", "/v1/auth/passkeys/login", { body: { response: a } });
    expect(ok.status).toBe(200);
    expect((await api.call("GET", "/v1/me", { token: ok.body.accessToken })).body.email).toBe(user.email);
    const replay = await api.call("POST", "/v1/auth/passkeys/login", { body: { response: a } });
    expect([replay.status, replay.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  });

  test("a forged assertion is 401: a bad signature, another account's email, an email with no account, an unknown credential", async () => {
    const a = await assertion();
    const forged = await api.call("POST", "/v1/auth/passkeys/login", {
      body: { response: { ...a, response: { ...a.response, signature: flipLastByte(a.response.signature) } } },
    });
    expect([forged.status, forged.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);

    const other = await api.user();
    const wrongUser = await api.call("POST", "/v1/auth/passkeys/login", {
      body: { response: await assertion(other.email) },
    });
    expect([wrongUser.status, wrongUser.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);

    const noAccount = await api.call("POST", "/v1/auth/passkeys/login", {
      body: { response: await assertion(`nobody-${crypto.randomUUID()}@pages.test`) },
    });
    expect([noAccount.status, noAccount.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);

    const b = await assertion();
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    const unknown = await api.call("POST", "/v1/auth/passkeys/login", { body: { response: { ...b, id, rawId: id } } });
    expect([unknown.status, unknown.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  });

  test("a signature counter that did not grow (a cloned authenticator) is refused", async () => {
    const [key] = await sql`select id, counter from identity.passkeys where user_id = ${user.id}`;
    expect(Number(key!.counter)).toBeGreaterThan(0); // the authenticator counts its signatures
    await sql`update identity.passkeys set counter = 1000000 where id = ${key!.id}`;
    const r = await api.call("POST", "/v1/auth/passkeys/login", { body: { response: await assertion() } });
    expect([r.status, r.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);
    await sql`update identity.passkeys set counter = ${key!.counter} where id = ${key!.id}`;
  });

  test("an answer to an expired challenge is refused, however good its signature", async () => {
    const answer = await assertion();
    const { challenge } = JSON.parse(Buffer.from(answer.response.clientDataJSON, "base64url").toString()) as {
      challenge: string;
    };
    // the challenge's time runs out in Redis, as it does after PASSKEY_CHALLENGE_TTL_S
    expect(await redis.pexpire(`webauthn:challenge:${challenge}`, 1)).toBe(1);
    await Bun.sleep(20);
    const r = await api.call("POST", "/v1/auth/passkeys/login", { body: { response: answer } });
    expect([r.status, r.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);
    // the same passkey with a live challenge still logs in
    expect((await api.call("POST", "/v1/auth/passkeys/login", { body: { response: await assertion() } })).status).toBe(
      200,
    );
  });

  test("challenges are short-lived and bound to their use", async () => {
    const options = (await api.call("POST", "/v1/auth/passkeys/register/options", { token: user.token })).body;
    const ttl = await redis.ttl(`webauthn:challenge:${options.challenge}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(PASSKEY_CHALLENGE_TTL_S);
    // a login answer is no registration
    const r = await api.call("POST", "/v1/auth/passkeys/register", {
      token: user.token,
      body: {
        response: {
          ...(await assertion()),
          response: { clientDataJSON: (await assertion()).response.clientDataJSON, attestationObject: "AA" },
        },
      },
    });
    expect([r.status, r.body.code]).toEqual([400, "PASSKEY_INVALID"]);
    expect((await api.call("POST", "/v1/auth/passkeys/register/options")).status).toBe(401);
  });

  test("a removed passkey logs nobody in; someone else's cannot be removed", async () => {
    const [mine] = (await api.call("GET", "/v1/me/passkeys", { token: user.token })).body.items;
    const other = await api.user();
    expect((await api.call("DELETE", `/v1/me/passkeys/${mine.id}`, { token: other.token })).status).toBe(404);
    expect((await api.call("DELETE", `/v1/me/passkeys/${mine.id}`, { token: user.token })).status).toBe(204);
    expect((await api.call("GET", "/v1/me/passkeys", { token: user.token })).body.items).toEqual([]);
    const r = await api.call("POST", "/v1/auth/passkeys/login", { body: { response: await assertion() } });
    expect([r.status, r.body.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  });
});

/** The link in the text part of the latest mail to `address` with this subject. */
async function mailedLink(address: string, subject: string): Promise<string> {
  return eventually(
    async () => {
      const mail = (await receivedMail(mailWebUrl))
        .filter((m) => m.subject === subject && m.to.some((t) => t.address === address))
        .at(-1);
      return mail?.text.split("\n").find((l) => l.startsWith("http"));
    },
    15_000,
    `a "${subject}" mail to ${address}`,
  );
}

describe("the mailed links' pages", () => {
  test("the verification link, opened in a browser, verifies the email once", async () => {
    const u = await api.user();
    const link = await mailedLink(u.email, "Confirm your email address");
    expect(link.startsWith(`${origin}/verify-email?token=`)).toBe(true);
    // the page's address holds the token: not cached, not passed on; fetching it uses nothing up
    const raw = await fetch(link);
    expect([raw.headers.get("cache-control"), raw.headers.get("referrer-policy")]).toEqual(["no-store", "no-referrer"]);
    const tab = await browser.newPage();
    await tab.goto(link);
    await waitForText(tab, status, `Verified: ${u.email}`);
    expect((await api.call("GET", "/v1/me", { token: u.token })).body.emailVerified).toBe(true);
    await tab.reload();
    await waitForText(tab, status, "Not verified: this link is unknown, used or expired");
    await tab.close();
  });

  test("the reset link's page sets a new password", async () => {
    const u = await api.user();
    expect((await api.call("POST", "/v1/auth/password/forgot", { body: { email: u.email } })).status).toBe(202);
    const link = await mailedLink(u.email, "Reset your password");
    expect(link.startsWith(`${origin}/reset-password?token=`)).toBe(true);
    const tab = await browser.newPage();
    await tab.goto(link);
    await tab.type('input[name="password"]', "Br0wser-chosen!");
    await tab.click('#reset button[type="submit"]');
    await waitForText(tab, status, "Password changed");
    await tab.close();
    expect((await api.call("GET", "/v1/me", { token: u.token })).status).toBe(401);
    expect(
      (await api.call("POST", "/v1/auth/login", { body: { email: u.email, password: "Br0wser-chosen!" } })).status,
    ).toBe(200);
  });
});
