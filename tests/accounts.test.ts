// Accounts on the whole stack, its mail read from the stack's MailDev: email verification, the verified-email
// gate, the forgotten password, and the admin's user search. Requests go to a second edge on the same services,
// with REQUIRE_VERIFIED_EMAIL on and tight reset brakes, behind a trusted loopback proxy so each test's requests
// come from an address of their own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import postgres from "postgres";
import { type ReceivedMail, receivedMail } from "../scripts/lib/maildev";
import type { PrivateStack } from "../scripts/lib/private-stack";
import { client, eventually } from "./client";
import { admin, extraEdge, stack } from "./harness";

const RESET_LIMIT = 3;
let s: PrivateStack;
let api: ReturnType<typeof client>;
let sql: postgres.Sql;
let adminToken: string;
let proc: Bun.Subprocess | undefined;

let n = 0;
const newIp = () => `203.0.113.${n++ % 250}`;
const email = (tag: string) => `${tag}-${Date.now()}-${n++}@accounts.test`;

beforeAll(async () => {
  s = await stack();
  const edge = await extraEdge(s, "accounts", {
    REQUIRE_VERIFIED_EMAIL: "true",
    RESET_LIMIT_PER_HOUR: String(RESET_LIMIT),
    TRUSTED_PROXIES: "127.0.0.1/32",
  });
  proc = edge.proc;
  api = client(edge.url);
  sql = postgres(s.env.DATABASE_URL!, { max: 2, onnotice: () => {} });
  adminToken = await api.login(admin.email, admin.password);
}, 120_000);

afterAll(async () => {
  await sql?.end();
  proc?.kill("SIGTERM");
  await proc?.exited;
});

/** The mails MailDev received for an address (waiting until `count` of them are there). */
async function mailTo(address: string, count = 1): Promise<ReceivedMail[]> {
  return eventually(
    async () => {
      const mine = (await receivedMail(s.mailWebUrl!)).filter((m) => m.to.some((t) => t.address === address));
      return mine.length >= count ? mine : undefined;
    },
    15_000,
    `${count} mail(s) to ${address}`,
  );
}

/** The token of the link in a mail's text part, checked against the contract's form. */
function linkToken(mail: ReceivedMail, path: "/verify-email" | "/reset-password"): string {
  const line = mail.text.split("\n").find((l) => l.startsWith(`${s.env.PUBLIC_URL}${path}?token=`));
  expect(line).toBeDefined();
  expect(mail.html).toContain(`${s.env.PUBLIC_URL}${path}?token=`);
  return decodeURIComponent(new URL(line!).searchParams.get("token")!);
}

async function signup(address = email("user"), password = "Passw0rd!") {
  const r = await api.call("POST", "/v1/auth/signup", {
    body: { email: address, password, name: "Test <User>" },
    headers: { "x-forwarded-for": newIp() },
  });
  expect(r.status).toBe(201);
  return { id: r.body.id as string, email: address, password, view: r.body };
}

describe("email verification", () => {
  test("signup mails a link; the token (stored hashed) verifies once, and every user view says so", async () => {
    const u = await signup();
    expect(u.view.emailVerified).toBe(false);
    const [mail] = await mailTo(u.email);
    expect(mail!.subject).toBe("Confirm your email address");
    expect(mail!.html).toContain("Test &#60;User&#62;"); // the name is escaped in HTML
    const token = linkToken(mail!, "/verify-email");

    const stored =
      await sql`select token_hash, extract(epoch from expires_at - created_at)::float as ttl_s from identity.email_tokens where user_id = ${u.id}`;
    expect(stored.map((r) => r.token_hash)).toEqual([createHash("sha256").update(token).digest("base64url")]);
    expect(Math.abs(stored[0]!.ttl_s - 24 * 3600)).toBeLessThan(5); // valid 24 h

    const access = await api.login(u.email, u.password);
    expect((await api.call("GET", "/v1/me", { token: access })).body.emailVerified).toBe(false);

    const ok = await api.call("POST", "/v1/auth/verify-email", { body: { token } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: u.id, email: u.email, emailVerified: true });
    expect((await api.call("GET", "/v1/me", { token: access })).body.emailVerified).toBe(true);
    const found = await api.call("GET", `/v1/admin/users?email=${encodeURIComponent(u.email)}`, { token: adminToken });
    expect(found.body.items).toEqual([expect.objectContaining({ id: u.id, emailVerified: true })]);

    const again = await api.call("POST", "/v1/auth/verify-email", { body: { token } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe("TOKEN_INVALID");
  });

  test("an unknown or expired token is 400 TOKEN_INVALID and verifies nothing", async () => {
    const unknown = await api.call("POST", "/v1/auth/verify-email", { body: { token: "A".repeat(43) } });
    expect([unknown.status, unknown.body.code]).toEqual([400, "TOKEN_INVALID"]);

    const u = await signup();
    const token = linkToken((await mailTo(u.email))[0]!, "/verify-email");
    await sql`update identity.email_tokens set expires_at = now() - interval '1 second' where user_id = ${u.id}`;
    const expired = await api.call("POST", "/v1/auth/verify-email", { body: { token } });
    expect([expired.status, expired.body.code]).toEqual([400, "TOKEN_INVALID"]);
    const [row] = await sql`select email_verified_at from identity.users where id = ${u.id}`;
    expect(row!.email_verified_at).toBeNull();
  });

  test("REQUIRE_VERIFIED_EMAIL: orders, purchases and claims are 403 EMAIL_NOT_VERIFIED until the link is opened", async () => {
    const seller = await signup(email("seller"));
    await sql`update identity.users set role = 'seller' where id = ${seller.id}`;
    const sellerToken = await api.login(seller.email, seller.password);
    const product = await api.product(sellerToken, 1000, 10);
    const sale = await api.call("POST", "/v1/sales", {
      token: sellerToken,
      body: { productId: product.id, price: 500, quantity: 5, startsAt: new Date(Date.now() - 1000).toISOString() },
    });
    expect(sale.status).toBe(201);
    const coupon = await api.call("POST", "/v1/coupons", {
      token: adminToken,
      body: {
        name: "c",
        discount: { type: "amount", value: 100 },
        quantity: 5,
        startsAt: new Date(Date.now() - 1000).toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
      },
    });
    expect(coupon.status).toBe(201);

    const u = await signup();
    const token = await api.login(u.email, u.password);
    const attempts = () => [
      api.call("POST", "/v1/orders", { token, body: { items: [{ productId: product.id, quantity: 1 }] } }),
      api.call("POST", `/v1/sales/${sale.body.id}/purchase`, { token, body: {} }),
      api.call("POST", `/v1/coupons/${coupon.body.id}/claim`, { token }),
    ];
    for (const r of await Promise.all(attempts())) expect([r.status, r.body.code]).toEqual([403, "EMAIL_NOT_VERIFIED"]);
    const [orders] = await sql`select count(*)::int as n from ordering.orders where user_id = ${u.id}`;
    expect(orders!.n).toBe(0);

    const link = linkToken((await mailTo(u.email))[0]!, "/verify-email");
    expect((await api.call("POST", "/v1/auth/verify-email", { body: { token: link } })).status).toBe(200);
    const [order, purchase, claim] = await Promise.all(attempts());
    expect([order!.status, purchase!.status, claim!.status]).toEqual([202, 202, 201]);
  });

  test("the demo accounts are seeded verified", async () => {
    const rows =
      await sql`select email, email_verified_at is not null as verified from identity.users where email in ('admin@example.com', 'seller@example.com', 'shopper@example.com') order by email`;
    expect(rows.map((r) => `${r.email}:${r.verified}`)).toEqual([
      "admin@example.com:true",
      "seller@example.com:true",
      "shopper@example.com:true",
    ]);
  });
});

describe("forgotten password", () => {
  test("forgot is 202 for a known and an unknown email, in the same time; only the known one gets a mail", async () => {
    const u = await signup();
    const unknown = email("nobody");
    const times: Record<"known" | "unknown", number[]> = { known: [], unknown: [] };
    for (let i = 0; i < RESET_LIMIT; i++)
      for (const [who, address] of [
        ["known", u.email],
        ["unknown", unknown],
      ] as const) {
        const t = performance.now();
        const r = await api.call("POST", "/v1/auth/password/forgot", {
          body: { email: address },
          headers: { "x-forwarded-for": newIp() },
        });
        times[who].push(performance.now() - t);
        expect(r.status).toBe(202);
      }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log("forgot answer times (ms)", JSON.stringify(times));
    for (const xs of Object.values(times)) for (const t of xs) expect(t).toBeGreaterThanOrEqual(290);
    expect(Math.abs(median(times.known) - median(times.unknown))).toBeLessThan(60);

    const resets = await mailTo(u.email, 1 + RESET_LIMIT);
    expect(resets.filter((m) => m.subject === "Reset your password")).toHaveLength(RESET_LIMIT);
    await Bun.sleep(1500);
    expect((await receivedMail(s.mailWebUrl!)).filter((m) => m.to.some((t) => t.address === unknown))).toEqual([]);
  });

  test("reset: a new password, every earlier session dead, the link and its siblings used up", async () => {
    const u = await signup();
    const ip = newIp();
    const sessions = [];
    for (let i = 0; i < 2; i++) {
      const r = await api.call("POST", "/v1/auth/login", { body: { email: u.email, password: u.password } });
      sessions.push(r.body as { accessToken: string; refreshToken: string });
    }
    for (const old of sessions)
      for (const edge of [api, client(s.edgeUrl)])
        expect((await edge.call("GET", "/v1/me", { token: old.accessToken })).status).toBe(200);
    for (let i = 0; i < 2; i++)
      expect(
        (
          await api.call("POST", "/v1/auth/password/forgot", {
            body: { email: u.email },
            headers: { "x-forwarded-for": ip },
          })
        ).status,
      ).toBe(202);
    const mails = (await mailTo(u.email, 3)).filter((m) => m.subject === "Reset your password");
    const [first, second] = mails.map((m) => linkToken(m, "/reset-password"));

    const weak = await api.call("POST", "/v1/auth/password/reset", { body: { token: first, password: "short" } });
    expect([weak.status, weak.body.code]).toEqual([400, "VALIDATION_FAILED"]);
    const done = await api.call("POST", "/v1/auth/password/reset", {
      body: { token: first, password: "N3w-passw0rd!" },
    });
    expect(done.status).toBe(204);

    // the sessions worked on both edges before; after the reset, on neither
    for (const old of sessions) {
      for (const edge of [api, client(s.edgeUrl)]) {
        const me = await edge.call("GET", "/v1/me", { token: old.accessToken });
        expect([me.status, me.body.code]).toEqual([401, "UNAUTHENTICATED"]);
      }
      expect((await api.call("POST", "/v1/auth/refresh", { body: { refreshToken: old.refreshToken } })).status).toBe(
        401,
      );
    }
    expect((await api.call("POST", "/v1/auth/login", { body: { email: u.email, password: u.password } })).status).toBe(
      401,
    );
    const fresh = await api.call("POST", "/v1/auth/login", { body: { email: u.email, password: "N3w-passw0rd!" } });
    expect(fresh.status).toBe(200);
    // opening the mailed link proved the address
    expect((await api.call("GET", "/v1/me", { token: fresh.body.accessToken })).body.emailVerified).toBe(true);

    for (const used of [first, second]) {
      const again = await api.call("POST", "/v1/auth/password/reset", {
        body: { token: used, password: "An0ther-passw0rd!" },
      });
      expect([again.status, again.body.code]).toEqual([400, "TOKEN_INVALID"]);
    }
    expect((await api.call("GET", "/v1/me", { token: fresh.body.accessToken })).status).toBe(200);
  });

  test("an expired reset link is 400 TOKEN_INVALID and changes nothing", async () => {
    const u = await signup();
    expect(
      (
        await api.call("POST", "/v1/auth/password/forgot", {
          body: { email: u.email },
          headers: { "x-forwarded-for": newIp() },
        })
      ).status,
    ).toBe(202);
    const mail = (await mailTo(u.email, 2)).find((m) => m.subject === "Reset your password")!;
    const token = linkToken(mail, "/reset-password");
    const [minted] =
      await sql`select extract(epoch from expires_at - created_at)::float as ttl_s from identity.email_tokens where user_id = ${u.id} and purpose = 'reset_password'`;
    expect(Math.abs(minted!.ttl_s - 30 * 60)).toBeLessThan(5); // valid 30 min
    await sql`update identity.email_tokens set expires_at = now() - interval '1 second' where user_id = ${u.id} and purpose = 'reset_password'`;
    const r = await api.call("POST", "/v1/auth/password/reset", { body: { token, password: "N3w-passw0rd!" } });
    expect([r.status, r.body.code]).toEqual([400, "TOKEN_INVALID"]);
    expect((await api.call("POST", "/v1/auth/login", { body: { email: u.email, password: u.password } })).status).toBe(
      200,
    );
  });

  test("brakes: per email from any address, and per address whatever the email", async () => {
    const address = email("braked");
    for (let i = 0; i < RESET_LIMIT; i++)
      expect(
        (
          await api.call("POST", "/v1/auth/password/forgot", {
            body: { email: address },
            headers: { "x-forwarded-for": newIp() },
          })
        ).status,
      ).toBe(202);
    const perEmail = await api.call("POST", "/v1/auth/password/forgot", {
      body: { email: address },
      headers: { "x-forwarded-for": newIp() },
    });
    expect([perEmail.status, perEmail.body.code]).toEqual([429, "RATE_LIMITED"]);
    expect(Number(perEmail.headers.get("retry-after"))).toBeGreaterThan(0);

    const ip = newIp();
    for (let i = 0; i < RESET_LIMIT; i++)
      expect(
        (
          await api.call("POST", "/v1/auth/password/forgot", {
            body: { email: email("any") },
            headers: { "x-forwarded-for": ip },
          })
        ).status,
      ).toBe(202);
    const perIp = await api.call("POST", "/v1/auth/password/forgot", {
      body: { email: email("any") },
      headers: { "x-forwarded-for": ip },
    });
    expect([perIp.status, perIp.body.code]).toEqual([429, "RATE_LIMITED"]);
  });
});

describe("admin user search", () => {
  test("email prefix, role and cursor pages; a shopper and an anonymous caller cannot search", async () => {
    const prefix = `find_${Date.now()}-`;
    const made = [];
    for (const i of [1, 2, 3]) made.push(await signup(`${prefix}${i}@accounts.test`));
    await sql`update identity.users set role = 'seller' where id = ${made[1]!.id}`;

    const page1 = await api.call("GET", `/v1/admin/users?email=${prefix.toUpperCase()}&limit=2`, { token: adminToken });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((u: { id: string }) => u.id)).toEqual([made[0]!.id, made[1]!.id]);
    expect(page1.body.items[0]).toMatchObject({ email: made[0]!.email, role: "shopper", emailVerified: false });
    const page2 = await api.call("GET", `/v1/admin/users?email=${prefix}&limit=2&cursor=${page1.body.nextCursor}`, {
      token: adminToken,
    });
    expect(page2.body.items.map((u: { id: string }) => u.id)).toEqual([made[2]!.id]);
    expect(page2.body.nextCursor).toBeNull();

    const sellers = await api.call("GET", `/v1/admin/users?email=${prefix}&role=seller`, { token: adminToken });
    expect(sellers.body.items.map((u: { id: string }) => u.id)).toEqual([made[1]!.id]);
    // LIKE's wildcards are taken literally: "_" matches only "_"
    expect(
      (await api.call("GET", `/v1/admin/users?email=${prefix.replace("_", "x")}`, { token: adminToken })).body.items,
    ).toEqual([]);
    expect(
      (await api.call("GET", `/v1/admin/users?email=%25${prefix.slice(1)}`, { token: adminToken })).body.items,
    ).toEqual([]);
    const badRole = await api.call("GET", "/v1/admin/users?role=owner", { token: adminToken });
    expect([badRole.status, badRole.body.code]).toEqual([400, "VALIDATION_FAILED"]);

    const shopper = await api.login(made[0]!.email, made[0]!.password);
    const refused = await api.call("GET", `/v1/admin/users?email=${prefix}`, { token: shopper });
    expect([refused.status, refused.body.code]).toEqual([403, "FORBIDDEN"]);
    expect((await api.call("GET", `/v1/admin/users?email=${prefix}`)).status).toBe(401);
  });
});
