// The edge's security suite, on the whole stack: every route of the contract against every role (status
// and problem code), every broken token kind, revocation on every edge, ownership, login brakes and the
// error contract. Requests go to a second edge on the same services (behind a trusted loopback proxy, so
// each client has an address of its own and a tight login brake), and revocations are checked on both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { SignJWT } from "jose";
import { devKeyRing, keyRing, newPrivateJwk } from "../edge/auth/keys";
import { tokenService } from "../edge/auth/tokens";
import { client, eventually, type Res } from "./client";
import { admin as adminLogin, extraEdge, stack } from "./harness";

type Who = "anonymous" | "shopper" | "seller" | "admin";
const roles: Who[] = ["anonymous", "shopper", "seller", "admin"];
type Account = { id: string; email: string; password: string; token: string; refreshToken: string };

const LOGIN_LIMIT = 5;
let edgeA: ReturnType<typeof client>;
let edgeB: ReturnType<typeof client>;
let urlB: string;
let proc: Bun.Subprocess | undefined;
let keysDir: string;

let n = 0;
/** A fresh client address for each call, so the per-address login brake only bites where a test means it. */
const newIp = () => `198.51.${(n >> 8) & 255}.${n++ & 255}`;

beforeAll(async () => {
  const s = await stack();
  keysDir = s.env.KEYS_DIR!;
  edgeA = client(s.edgeUrl);
  ({ url: urlB, proc } = await extraEdge(s, "security", {
    TRUSTED_PROXIES: "127.0.0.1/32,::1/128",
    LOGIN_LIMIT_PER_MIN: String(LOGIN_LIMIT),
  }));
  edgeB = client(urlB);
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
});

/** A call to edge B from its own client address. */
const call = (
  method: string,
  path: string,
  o: { token?: string; body?: unknown; headers?: Record<string, string>; ip?: string } = {},
) => edgeB.call(method, path, { ...o, headers: { "x-forwarded-for": o.ip ?? newIp(), ...o.headers } });

async function account(role: "shopper" | "seller"): Promise<Account> {
  const email = `${role}-${crypto.randomUUID()}@sec.test`;
  const password = "Passw0rd!";
  const up = await call("POST", "/v1/auth/signup", { body: { email, password, name: role, role } });
  expect(up.status).toBe(201);
  return { id: up.body.id, email, password, ...(await login(email, password)) };
}

async function login(email: string, password: string) {
  const r = await call("POST", "/v1/auth/login", { body: { email, password } });
  expect(r.status).toBe(200);
  return { token: r.body.accessToken as string, refreshToken: r.body.refreshToken as string };
}

function expectProblem(r: Res, status: number, code: string) {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
  expect(r.headers.get("content-type")).toBe("application/problem+json");
  expect(r.body.instance).toBe(r.headers.get("x-request-id"));
}

const future = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe("every route against every role", () => {
  let shopper: Account, seller: Account, otherSeller: Account, admin: Account & { id: string };
  const tokenOf = (who: Who) => (who === "anonymous" ? undefined : { shopper, seller, admin }[who].token);
  let product: string,
    otherProduct: string,
    order: { id: string; itemId: string },
    confirmed: string[],
    coupon: string,
    sale: string;

  async function newProduct(owner: Account, stock = 50) {
    const r = await call("POST", "/v1/products", {
      token: owner.token,
      body: { name: "Security product", price: 1000, stock },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  }
  async function newOrder(buyer = shopper, productId = product, paymentMethod = "card_ok") {
    const r = await call("POST", "/v1/orders", {
      token: buyer.token,
      body: { items: [{ productId, quantity: 1 }], paymentMethod },
    });
    expect(r.status).toBe(202);
    const o = await call("GET", `/v1/orders/${r.body.orderId}`, { token: buyer.token });
    return { id: r.body.orderId as string, itemId: o.body.items[0].id as string };
  }
  async function confirmedOrder() {
    const o = await newOrder();
    expect((await edgeA.settled(shopper.token, o.id)).status).toBe("CONFIRMED");
    return o.id;
  }

  beforeAll(async () => {
    [shopper, seller, otherSeller] = await Promise.all([account("shopper"), account("seller"), account("seller")]);
    const a = await login(adminLogin.email, adminLogin.password);
    admin = {
      ...a,
      id: (await call("GET", "/v1/me", { token: a.token })).body.id,
      email: adminLogin.email,
      password: adminLogin.password,
    };
    product = await newProduct(seller, 100);
    otherProduct = await newProduct(otherSeller);
    order = await newOrder();
    confirmed = [await confirmedOrder(), await confirmedOrder()];
    const c = await call("POST", "/v1/coupons", {
      token: admin.token,
      body: {
        name: "Security coupon",
        discount: { type: "amount", value: 100 },
        quantity: 10,
        startsAt: future(-60),
        endsAt: future(3600),
      },
    });
    expect(c.status).toBe(201);
    coupon = c.body.id;
    const sl = await call("POST", "/v1/sales", {
      token: seller.token,
      body: { productId: product, price: 500, quantity: 10, perUserLimit: 5, startsAt: future(-1) },
    });
    expect(sl.status).toBe(201);
    sale = sl.body.id;
  });

  type Expect = number | [number, string];
  type Req = { path: string; body?: unknown; headers?: Record<string, string> };
  /** Route (as in the contract) -> how to call it as each role, and what each role gets. */
  const matrix: Record<
    string,
    { req: (who: Who) => Req | Promise<Req>; expect: Record<Who, Expect>; stream?: boolean }
  > = {};
  const all = (e: Expect): Record<Who, Expect> => ({ anonymous: e, shopper: e, seller: e, admin: e });
  const U: Expect = [401, "UNAUTHENTICATED"];
  const F: Expect = [403, "FORBIDDEN"];
  const NF: Expect = [404, "NOT_FOUND"];
  const only = (who: Who[], ok: Expect, otherwise: Expect = F): Record<Who, Expect> => ({
    anonymous: U,
    shopper: who.includes("shopper") ? ok : otherwise,
    seller: who.includes("seller") ? ok : otherwise,
    admin: who.includes("admin") ? ok : otherwise,
  });
  const any = (ok: Expect) => only(["shopper", "seller", "admin"], ok);

  matrix["GET /healthz"] = { req: () => ({ path: "/healthz" }), expect: all(200) };
  matrix["GET /readyz"] = { req: () => ({ path: "/readyz" }), expect: all(200) };
  // no METRICS_PORT in the test stack: admins only on the public port
  matrix["GET /metrics"] = { req: () => ({ path: "/metrics" }), expect: only(["admin"], 200) };
  matrix["GET /openapi.json"] = { req: () => ({ path: "/openapi.json" }), expect: all(200) };
  matrix["GET /docs"] = { req: () => ({ path: "/docs" }), expect: all(200) };
  matrix["GET /.well-known/jwks.json"] = { req: () => ({ path: "/.well-known/jwks.json" }), expect: all(200) };
  matrix["POST /v1/payments/webhook"] = {
    req: () => ({ path: "/v1/payments/webhook", body: { id: "x", orderId: crypto.randomUUID(), status: "approved" } }),
    expect: all([401, "BAD_SIGNATURE"]),
  };
  matrix["POST /v1/auth/signup"] = {
    req: () => ({
      path: "/v1/auth/signup",
      body: { email: `s-${crypto.randomUUID()}@sec.test`, password: "Passw0rd!", name: "n" },
    }),
    expect: all(201),
  };
  matrix["POST /v1/auth/login"] = {
    req: async () => {
      const a = await account("shopper");
      return { path: "/v1/auth/login", body: { email: a.email, password: a.password } };
    },
    expect: all(200),
  };
  matrix["POST /v1/auth/refresh"] = {
    req: () => ({ path: "/v1/auth/refresh", body: { refreshToken: "x".repeat(43) } }),
    expect: all(U),
  };
  matrix["POST /v1/auth/logout"] = { req: () => ({ path: "/v1/auth/logout" }), expect: any(204) };
  matrix["GET /v1/me"] = { req: () => ({ path: "/v1/me" }), expect: any(200) };
  matrix["PATCH /v1/admin/users/:id/role"] = {
    req: async () => ({ path: `/v1/admin/users/${(await account("shopper")).id}/role`, body: { role: "shopper" } }),
    expect: only(["admin"], 200),
  };
  matrix["GET /v1/products"] = { req: () => ({ path: "/v1/products" }), expect: all(200) };
  matrix["GET /v1/products/:id"] = { req: () => ({ path: `/v1/products/${product}` }), expect: all(200) };
  matrix["POST /v1/products"] = {
    req: () => ({ path: "/v1/products", body: { name: "p", price: 1, stock: 1 } }),
    expect: only(["seller", "admin"], 201),
  };
  matrix["PATCH /v1/products/:id"] = {
    req: () => ({ path: `/v1/products/${product}`, body: { name: "renamed" } }),
    expect: only(["seller", "admin"], 200),
  };
  matrix["DELETE /v1/products/:id"] = {
    req: async () => ({ path: `/v1/products/${await newProduct(seller)}` }),
    expect: only(["seller", "admin"], 204),
  };
  matrix["GET /v1/products/popular"] = { req: () => ({ path: "/v1/products/popular" }), expect: all(200) };
  matrix["PUT /v1/products/:id/like"] = {
    req: () => ({ path: `/v1/products/${product}/like` }),
    expect: only(["shopper"], 200),
  };
  matrix["DELETE /v1/products/:id/like"] = {
    req: () => ({ path: `/v1/products/${product}/like` }),
    expect: only(["shopper"], 200),
  };
  matrix["GET /v1/me/likes"] = { req: () => ({ path: "/v1/me/likes" }), expect: only(["shopper"], 200) };
  matrix["GET /v1/sales"] = { req: () => ({ path: "/v1/sales" }), expect: all(200) };
  matrix["GET /v1/coupons"] = { req: () => ({ path: "/v1/coupons" }), expect: all(200) };
  matrix["GET /v1/cart"] = { req: () => ({ path: "/v1/cart" }), expect: only(["shopper"], 200) };
  matrix["PUT /v1/cart/items/:productId"] = {
    req: () => ({ path: `/v1/cart/items/${otherProduct}`, body: { quantity: 1 } }),
    expect: only(["shopper"], 200),
  };
  matrix["DELETE /v1/cart/items/:productId"] = {
    req: () => ({ path: `/v1/cart/items/${otherProduct}` }),
    expect: only(["shopper"], 200),
  };
  matrix["POST /v1/coupons"] = {
    req: () => ({
      path: "/v1/coupons",
      body: {
        name: "c",
        discount: { type: "percent", value: 10 },
        quantity: 1,
        startsAt: future(-1),
        endsAt: future(600),
      },
    }),
    expect: only(["admin"], 201),
  };
  matrix["POST /v1/coupons/:id/claim"] = {
    req: () => ({ path: `/v1/coupons/${coupon}/claim` }),
    expect: only(["shopper"], 201),
  };
  matrix["GET /v1/me/coupons"] = { req: () => ({ path: "/v1/me/coupons" }), expect: only(["shopper"], 200) };
  matrix["POST /v1/orders"] = {
    req: () => ({ path: "/v1/orders", body: { items: [{ productId: otherProduct, quantity: 1 }] } }),
    expect: only(["shopper"], 202),
  };
  matrix["GET /v1/orders"] = { req: () => ({ path: "/v1/orders" }), expect: any(200) };
  // someone else's order is as absent as a missing one
  matrix["GET /v1/orders/:id"] = {
    req: () => ({ path: `/v1/orders/${order.id}` }),
    expect: { anonymous: U, shopper: 200, seller: NF, admin: 200 },
  };
  matrix["GET /v1/orders/:id/events"] = {
    req: () => ({ path: `/v1/orders/${order.id}/events` }),
    expect: { anonymous: U, shopper: 200, seller: NF, admin: NF },
    stream: true,
  };
  matrix["POST /v1/orders/:id/cancel"] = {
    req: async () => ({ path: `/v1/orders/${(await newOrder()).id}/cancel` }),
    expect: only(["shopper", "admin"], 202),
  };
  matrix["POST /v1/orders/:id/items/:itemId/cancel"] = {
    req: async () => {
      const o = await newOrder();
      return { path: `/v1/orders/${o.id}/items/${o.itemId}/cancel` };
    },
    expect: only(["shopper", "admin"], 202),
  };
  let shipped = 0;
  matrix["POST /v1/orders/:id/ship"] = {
    req: (who) => ({
      path: `/v1/orders/${who === "seller" || who === "admin" ? confirmed[shipped++] : order.id}/ship`,
    }),
    expect: only(["seller", "admin"], 202),
  };
  // authorised, but a confirmed order is not shipped yet
  matrix["POST /v1/orders/:id/deliver"] = {
    req: () => ({ path: `/v1/orders/${order.id}/deliver` }),
    expect: only(["seller", "admin"], [409, "INVALID_TRANSITION"]),
  };
  matrix["GET /v1/seller/orders"] = { req: () => ({ path: "/v1/seller/orders" }), expect: only(["seller"], 200) };
  matrix["GET /v1/ops/orders"] = { req: () => ({ path: "/v1/ops/orders" }), expect: only(["admin"], 200) };
  matrix["GET /v1/ops/dlq"] = { req: () => ({ path: "/v1/ops/dlq" }), expect: only(["admin"], 200) };
  matrix["POST /v1/ops/dlq/:id/replay"] = {
    req: () => ({ path: "/v1/ops/dlq/999999999/replay" }),
    expect: only(["admin"], NF),
  };
  matrix["POST /v1/sales"] = {
    req: () => ({ path: "/v1/sales", body: { productId: product, price: 500, quantity: 1, startsAt: future(60) } }),
    expect: only(["seller", "admin"], 201),
  };
  matrix["GET /v1/sales/:id"] = { req: () => ({ path: `/v1/sales/${sale}` }), expect: all(200) };
  matrix["POST /v1/sales/:id/purchase"] = {
    req: () => ({ path: `/v1/sales/${sale}/purchase`, body: {} }),
    expect: only(["shopper"], 202),
  };
  matrix["GET /v1/ops/stream"] = {
    req: () => ({ path: "/v1/ops/stream" }),
    expect: only(["admin"], 200),
    stream: true,
  };
  matrix["GET /v1/sales/:id/events"] = {
    req: () => ({ path: `/v1/sales/${sale}/events` }),
    expect: all(200),
    stream: true,
  };
  matrix["GET /ops"] = { req: () => ({ path: "/ops" }), expect: all(200) };
  matrix["GET /shop/sales/:id"] = { req: () => ({ path: `/shop/sales/${sale}` }), expect: all(200) };
  matrix["GET /assets/:name"] = {
    req: async () => ({ path: (await call("GET", "/ops")).body.match(/\/assets\/[\w.-]+\.js/)[0] }),
    expect: all(200),
  };
  matrix["GET /v1/ops/sales/:id/audit"] = {
    req: () => ({ path: `/v1/ops/sales/${sale}/audit` }),
    expect: only(["admin"], 200),
  };

  const someToken = "x".repeat(43);
  matrix["POST /v1/auth/verify-email"] = {
    req: () => ({ path: "/v1/auth/verify-email", body: { token: someToken } }),
    expect: all([400, "TOKEN_INVALID"]),
  };
  matrix["POST /v1/auth/password/forgot"] = {
    req: () => ({ path: "/v1/auth/password/forgot", body: { email: `f-${crypto.randomUUID()}@sec.test` } }),
    expect: all(202),
  };
  matrix["POST /v1/auth/password/reset"] = {
    req: () => ({ path: "/v1/auth/password/reset", body: { token: someToken, password: "Passw0rd!" } }),
    expect: all([400, "TOKEN_INVALID"]),
  };
  matrix["POST /v1/auth/passkeys/register/options"] = {
    req: () => ({ path: "/v1/auth/passkeys/register/options" }),
    expect: any(200),
  };
  matrix["POST /v1/auth/passkeys/register"] = {
    req: () => ({ path: "/v1/auth/passkeys/register" }),
    expect: any([400, "VALIDATION_FAILED"]),
  };
  matrix["POST /v1/auth/passkeys/login/options"] = {
    req: () => ({ path: "/v1/auth/passkeys/login/options" }),
    expect: all(200),
  };
  matrix["POST /v1/auth/passkeys/login"] = {
    req: () => ({ path: "/v1/auth/passkeys/login" }),
    expect: all([400, "VALIDATION_FAILED"]),
  };
  matrix["GET /v1/me/passkeys"] = { req: () => ({ path: "/v1/me/passkeys" }), expect: any(200) };
  matrix["DELETE /v1/me/passkeys/:id"] = {
    req: () => ({ path: `/v1/me/passkeys/${crypto.randomUUID()}` }),
    expect: any(NF),
  };
  matrix["GET /v1/admin/users"] = { req: () => ({ path: "/v1/admin/users?email=a" }), expect: only(["admin"], 200) };
  for (const page of ["/verify-email", "/reset-password", "/passkeys"])
    matrix[`GET ${page}`] = { req: () => ({ path: page }), expect: all(200) };

  const unlimited = new Set(["GET /healthz", "GET /readyz", "POST /v1/payments/webhook"]);

  test("the matrix covers every route the edge documents, and nothing it does not", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    expect(documented.sort()).toEqual(Object.keys(matrix).sort());
  });

  for (const route of Object.keys(matrix))
    test(route, async () => {
      const method = route.split(" ")[0]!;
      const { req, expect: want, stream } = matrix[route]!;
      for (const who of roles) {
        const r = await req(who);
        const token =
          route === "POST /v1/auth/logout" && who !== "anonymous"
            ? (
                await login(
                  ({ shopper, seller, admin } as Record<string, Account>)[who]!.email,
                  ({ shopper, seller, admin } as Record<string, Account>)[who]!.password,
                )
              ).token
            : tokenOf(who);
        let res: Res;
        if (stream) {
          const ac = new AbortController();
          const raw = await fetch(urlB + r.path, {
            headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "x-forwarded-for": newIp() },
            signal: ac.signal,
          });
          const type = raw.headers.get("content-type") ?? "";
          res = {
            status: raw.status,
            headers: raw.headers,
            body: type.includes("json") ? await raw.json() : undefined,
          };
          if (raw.ok) expect(type).toStartWith("text/event-stream");
          ac.abort();
        } else
          res = await call(method, r.path, {
            token,
            body: r.body ?? (method === "GET" || method === "DELETE" ? undefined : {}),
            headers: r.headers,
          });
        const [status, code] =
          typeof want[who] === "number" ? [want[who] as number, undefined] : (want[who] as [number, string]);
        expect({ who, status: res.status, code: res.status >= 400 ? res.body?.code : undefined }).toEqual({
          who,
          status,
          code: status >= 400 ? code : undefined,
        });
        if (status >= 400) expectProblem(res, status, code!);
        expect(res.headers.get("x-request-id")).toBeTruthy();
        if (!unlimited.has(route))
          for (const h of ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"])
            expect(res.headers.get(h)).toMatch(/^\d+$/);
        else expect(res.headers.get("ratelimit-limit")).toBeNull(); // never passed the bucket
      }
    });

  test("a seller edits only its products; an admin edits any", async () => {
    const theirs = await newProduct(otherSeller);
    for (const [method, body] of [
      ["PATCH", { price: 1 }],
      ["DELETE", undefined],
    ] as const)
      expectProblem(await call(method, `/v1/products/${theirs}`, { token: seller.token, body }), 403, "FORBIDDEN");
    expect((await call("GET", `/v1/products/${theirs}`)).body.price).toBe(1000);
    const sl = await call("POST", "/v1/sales", {
      token: seller.token,
      body: { productId: theirs, price: 1, quantity: 1, startsAt: future(60) },
    });
    expectProblem(sl, 403, "FORBIDDEN");
    expect((await call("PATCH", `/v1/products/${theirs}`, { token: admin.token, body: { price: 7 } })).body.price).toBe(
      7,
    );
    expect(
      (await call("PATCH", `/v1/products/${theirs}`, { token: otherSeller.token, body: { price: 8 } })).body.price,
    ).toBe(8);
  });

  test("a shopper sees only its orders: another shopper's is 404, and absent from its list", async () => {
    const other = await account("shopper");
    expectProblem(await call("GET", `/v1/orders/${order.id}`, { token: other.token }), 404, "NOT_FOUND");
    expectProblem(await call("POST", `/v1/orders/${order.id}/cancel`, { token: other.token }), 404, "NOT_FOUND");
    const list = await call("GET", "/v1/orders?limit=100", { token: other.token });
    expect(list.body.items).toEqual([]);
  });
});

describe("broken tokens", () => {
  let user: Account;
  beforeAll(async () => {
    user = await account("shopper");
  });
  const me = (token: string) => call("GET", "/v1/me", { token });
  const headerOf = (t: string) => JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString());
  const payloadOf = (t: string) => JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString());
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

  test("the real token passes (the control)", async () => {
    expect((await me(user.token)).status).toBe(200);
  });

  test("alg none", async () => {
    const none = `${b64({ alg: "none", typ: "JWT", kid: headerOf(user.token).kid })}.${b64({ ...payloadOf(user.token), role: "admin" })}.`;
    expectProblem(await me(none), 401, "UNAUTHENTICATED");
  });

  test("expired (signed with the edge's own key)", async () => {
    const past = tokenService(await devKeyRing(keysDir), { issuer: "flashsale", ttlS: -30 });
    const { token } = await past.sign({
      sub: user.id,
      role: "shopper",
      jti: crypto.randomUUID(),
      fam: crypto.randomUUID(),
    });
    expectProblem(await me(token), 401, "TOKEN_EXPIRED");
  });

  test("tampered payload", async () => {
    const [h, , sig] = user.token.split(".");
    expectProblem(await me(`${h}.${b64({ ...payloadOf(user.token), role: "admin" })}.${sig}`), 401, "UNAUTHENTICATED");
    expectProblem(
      await call("GET", "/v1/ops/orders", { token: `${h}.${b64({ ...payloadOf(user.token), role: "admin" })}.${sig}` }),
      401,
      "UNAUTHENTICATED",
    );
  });

  test("signed by a foreign key, under its own kid or under ours", async () => {
    const foreign = await keyRing(await newPrivateJwk());
    const claims = { sub: user.id, role: "admin" as const, jti: crypto.randomUUID(), fam: crypto.randomUUID() };
    expectProblem(
      await me((await tokenService(foreign, { issuer: "flashsale", ttlS: 900 }).sign(claims)).token),
      401,
      "UNAUTHENTICATED",
    );
    const posing = await new SignJWT({ role: "admin", fam: claims.fam })
      .setProtectedHeader({ alg: "EdDSA", kid: headerOf(user.token).kid, typ: "JWT" })
      .setSubject(user.id)
      .setJti(claims.jti)
      .setIssuer("flashsale")
      .setExpirationTime("10m")
      .sign(foreign.privateKey);
    expectProblem(await me(posing), 401, "UNAUTHENTICATED");
  });

  test("alg confusion: HS256 keyed with the published public key", async () => {
    const jwks = (await call("GET", "/.well-known/jwks.json")).body;
    const pub = jwks.keys.find((k: { kid: string }) => k.kid === headerOf(user.token).kid);
    expect(pub).toBeDefined();
    for (const secret of [JSON.stringify(pub), Buffer.from(pub.x, "base64url")]) {
      const head = b64({ alg: "HS256", typ: "JWT", kid: pub.kid });
      const body = b64({ ...payloadOf(user.token), role: "admin" });
      expectProblem(
        await me(`${head}.${body}.${createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url")}`),
        401,
        "UNAUTHENTICATED",
      );
    }
  });

  test("malformed Authorization headers", async () => {
    for (const authorization of [
      "Bearer",
      "Bearer ",
      "Basic dXNlcjpwYXNz",
      `Token ${user.token}`,
      `Bearer ${user.token} extra`,
      "Bearer not.a.jwt",
      "Bearer ...",
      `Bearer ${"a".repeat(9000)}`,
    ])
      expectProblem(await call("GET", "/v1/me", { headers: { authorization } }), 401, "UNAUTHENTICATED");
    // the scheme is case-insensitive
    expect((await call("GET", "/v1/me", { headers: { authorization: `bearer ${user.token}` } })).status).toBe(200);
  });

  test("revoked: after logout the token stops working at once, on this edge and on the other", async () => {
    const s = await login(user.email, user.password);
    expect((await me(s.token)).status).toBe(200);
    expect((await edgeA.call("GET", "/v1/me", { token: s.token })).status).toBe(200); // cached on edge A too
    expect((await call("POST", "/v1/auth/logout", { token: s.token })).status).toBe(204);
    expectProblem(await me(s.token), 401, "UNAUTHENTICATED");
    await eventually(
      async () => ((await edgeA.call("GET", "/v1/me", { token: s.token })).status === 401 ? true : undefined),
      3_000,
      "edge A to refuse",
    );
    expect((await call("POST", "/v1/auth/refresh", { body: { refreshToken: s.refreshToken } })).body.code).toBe(
      "UNAUTHENTICATED",
    );
    // the user's other session lives on
    expect((await me(user.token)).status).toBe(200);
  });

  test("reused refresh token: TOKEN_REUSED, and the whole family dies, access tokens included, on every edge", async () => {
    const first = await login(user.email, user.password);
    const second = await call("POST", "/v1/auth/refresh", { body: { refreshToken: first.refreshToken } });
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    const third = await call("POST", "/v1/auth/refresh", { body: { refreshToken: second.body.refreshToken } });
    expect(third.status).toBe(200);
    for (const t of [first.token, second.body.accessToken, third.body.accessToken])
      expect((await edgeA.call("GET", "/v1/me", { token: t })).status).toBe(200);

    expectProblem(
      await call("POST", "/v1/auth/refresh", { body: { refreshToken: first.refreshToken } }),
      401,
      "TOKEN_REUSED",
    );
    for (const t of [first.token, second.body.accessToken, third.body.accessToken]) {
      expectProblem(await me(t), 401, "UNAUTHENTICATED");
      await eventually(
        async () => ((await edgeA.call("GET", "/v1/me", { token: t })).status === 401 ? true : undefined),
        3_000,
        "edge A to refuse",
      );
    }
    expectProblem(
      await call("POST", "/v1/auth/refresh", { body: { refreshToken: third.body.refreshToken } }),
      401,
      "UNAUTHENTICATED",
    );
  });

  test("a role change revokes the user's sessions; the next login carries the new role", async () => {
    const a = await login(adminLogin.email, adminLogin.password);
    const promoted = await account("seller");
    expect(
      (await call("POST", "/v1/products", { token: promoted.token, body: { name: "x", price: 1, stock: 1 } })).status,
    ).toBe(201);
    const r = await call("PATCH", `/v1/admin/users/${promoted.id}/role`, { token: a.token, body: { role: "shopper" } });
    expect(r.body.role).toBe("shopper");
    expectProblem(
      await call("POST", "/v1/products", { token: promoted.token, body: { name: "x", price: 1, stock: 1 } }),
      401,
      "UNAUTHENTICATED",
    );
    await eventually(
      async () => ((await edgeA.call("GET", "/v1/me", { token: promoted.token })).status === 401 ? true : undefined),
      3_000,
      "edge A to refuse",
    );
    const again = await login(promoted.email, promoted.password);
    expect((await me(again.token)).body.role).toBe("shopper");
    expectProblem(
      await call("POST", "/v1/products", { token: again.token, body: { name: "x", price: 1, stock: 1 } }),
      403,
      "FORBIDDEN",
    );
  });
});

describe("identity rules", () => {
  test("signup: never admin; the password policy; a taken email", async () => {
    const email = `rules-${crypto.randomUUID()}@sec.test`;
    expectProblem(
      await call("POST", "/v1/auth/signup", { body: { email, password: "Passw0rd!", name: "x", role: "admin" } }),
      400,
      "VALIDATION_FAILED",
    );
    for (const password of ["Sh0rt!", "nodigits!!", "n0symbols1", "12345678!"])
      expectProblem(
        await call("POST", "/v1/auth/signup", { body: { email, password, name: "x" } }),
        400,
        "VALIDATION_FAILED",
      );
    expect((await call("POST", "/v1/auth/signup", { body: { email, password: "Passw0rd!", name: "x" } })).status).toBe(
      201,
    );
    expectProblem(
      await call("POST", "/v1/auth/signup", { body: { email: email.toUpperCase(), password: "Passw0rd!", name: "x" } }),
      409,
      "EMAIL_TAKEN",
    );
  });

  test("an unknown email and a wrong password answer alike, and both pay for a password hash", async () => {
    const a = await account("shopper");
    const timed = async (email: string) => {
      const t = performance.now();
      const r = await call("POST", "/v1/auth/login", { body: { email, password: "Wrong-pass1" } });
      return { ms: performance.now() - t, status: r.status, code: r.body.code, detail: r.body.detail };
    };
    const wrong = [await timed(a.email), await timed(a.email)];
    const unknown = [
      await timed(`nobody-${crypto.randomUUID()}@sec.test`),
      await timed(`nobody-${crypto.randomUUID()}@sec.test`),
    ];
    for (const r of [...wrong, ...unknown])
      expect({ status: r.status, code: r.code, detail: r.detail }).toEqual({
        status: 401,
        code: "INVALID_CREDENTIALS",
        detail: wrong[0]!.detail,
      });
    // argon2id runs for an unknown email too: no fast path that tells which emails exist
    const fastest = (rs: { ms: number }[]) => Math.min(...rs.map((r) => r.ms));
    expect(fastest(unknown)).toBeGreaterThan(fastest(wrong) / 3);
  });

  test("login brake: per email from any address, and per address whatever the email", async () => {
    const victim = { email: `victim-${crypto.randomUUID()}@sec.test`, password: "Passw0rd!" };
    expect((await call("POST", "/v1/auth/signup", { body: { ...victim, name: "victim" } })).status).toBe(201);
    const tries = [];
    for (let i = 0; i < LOGIN_LIMIT + 1; i++)
      tries.push(await call("POST", "/v1/auth/login", { body: { email: victim.email, password: "Wrong-pass1" } }));
    expect(tries.map((r) => r.status)).toEqual([...Array(LOGIN_LIMIT).fill(401), 429]);
    expectProblem(tries.at(-1)!, 429, "RATE_LIMITED");
    expect(Number(tries.at(-1)!.headers.get("retry-after"))).toBeGreaterThan(0);
    // even the right password waits now
    expect(
      (await call("POST", "/v1/auth/login", { body: { email: victim.email, password: victim.password } })).status,
    ).toBe(429);

    const ip = newIp();
    const spray = [];
    for (let i = 0; i < LOGIN_LIMIT + 1; i++)
      spray.push(
        (
          await call("POST", "/v1/auth/login", {
            ip,
            body: { email: `spray-${i}-${crypto.randomUUID()}@sec.test`, password: "Wrong-pass1" },
          })
        ).status,
      );
    expect(spray).toEqual([...Array(LOGIN_LIMIT).fill(401), 429]);
  });
});

describe("the error contract", () => {
  test("malformed JSON 400, wrong types 400, non-JSON 415, over 1 MB 413, unknown route 404; each a problem with the request id", async () => {
    const body = (b: string, type = "application/json") =>
      call("POST", "/v1/auth/signup", { body: b, headers: { "content-type": type } });
    expectProblem(await body(`{"email":`), 400, "MALFORMED_JSON");
    const wrong = await body(JSON.stringify({ email: 5, password: [], name: {} }));
    expectProblem(wrong, 400, "VALIDATION_FAILED");
    expect([...new Set(wrong.body.errors.map((e: { path: string }) => e.path))].sort()).toEqual([
      "email",
      "name",
      "password",
    ]);
    expectProblem(await body("email=a", "application/x-www-form-urlencoded"), 415, "UNSUPPORTED_MEDIA_TYPE");
    // JSON text sequences (RFC 7464) and other look-alikes are not JSON
    for (const type of ["application/json-seq", "application/jsonx", "text/json", "application/json+zip"])
      expectProblem(
        await body(JSON.stringify({ email: "a@b.c", password: "x", name: "n" }), type),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
    expectProblem(await body(JSON.stringify({ pad: "x".repeat(1024 * 1024 + 10) })), 413, "PAYLOAD_TOO_LARGE");
    expectProblem(await call("GET", "/v1/nowhere"), 404, "NOT_FOUND");
    expectProblem(await call("GET", "/v1/products/not-a-uuid"), 404, "NOT_FOUND");
  });

  test("JSON media types are accepted with parameters and +json suffixes", async () => {
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/merge-patch+json",
    ]) {
      const r = await call("POST", "/v1/auth/signup", {
        body: JSON.stringify({ email: `t-${crypto.randomUUID()}@sec.test`, password: "Passw0rd!", name: "n" }),
        headers: { "content-type": type },
      });
      expect([type, r.status]).toEqual([type, 201]);
    }
  });

  test("control characters in text fields are 400 VALIDATION_FAILED and change nothing", async () => {
    const email = `nul-${crypto.randomUUID()}@sec.test`;
    for (const name of ["a\u0000b", "line\nbreak", "bell\u0007", "esc\u001b[31m"]) {
      const r = await call("POST", "/v1/auth/signup", { body: { email, password: "Passw0rd!", name } });
      expectProblem(r, 400, "VALIDATION_FAILED");
      expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(["name"]);
    }
    expectProblem(
      await call("POST", "/v1/auth/signup", { body: { email, password: "Passw0rd!\u0000", name: "n" } }),
      400,
      "VALIDATION_FAILED",
    );
    expectProblem(
      await call("POST", "/v1/auth/login", { body: { email: `a\u0000${email}`, password: "Passw0rd!" } }),
      400,
      "VALIDATION_FAILED",
    );
    // nothing was created: the address is still free
    expect((await call("POST", "/v1/auth/signup", { body: { email, password: "Passw0rd!", name: "n" } })).status).toBe(
      201,
    );

    const seller = await account("seller");
    const product = (body: Record<string, unknown>) =>
      call("POST", "/v1/products", { token: seller.token, body: { name: "p", price: 1, stock: 1, ...body } });
    expectProblem(await product({ description: "nul \u0000 inside" }), 400, "VALIDATION_FAILED");
    expectProblem(await product({ description: "a \u0008 backspace" }), 400, "VALIDATION_FAILED");
    expectProblem(await product({ name: "two\nlines" }), 400, "VALIDATION_FAILED");
    // a description is multi-line text: tab and newline are fine there
    const ok = await product({ description: "first line\n\tsecond line" });
    expect(ok.status).toBe(201);
    expect(ok.body.description).toBe("first line\n\tsecond line");
    const coupon = await call("POST", "/v1/coupons", {
      token: (await login(adminLogin.email, adminLogin.password)).token,
      body: {
        name: "c\u0000",
        discount: { type: "amount", value: 1 },
        quantity: 1,
        startsAt: future(-1),
        endsAt: future(60),
      },
    });
    expectProblem(coupon, 400, "VALIDATION_FAILED");
  });

  test("a sane X-Request-Id is kept, anything else replaced", async () => {
    expect(
      (await call("GET", "/v1/products", { headers: { "x-request-id": "abc-123" } })).headers.get("x-request-id"),
    ).toBe("abc-123");
    const r = await call("GET", "/v1/products", { headers: { "x-request-id": "<script>" } });
    expect(r.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("secure headers on answers", async () => {
    const r = await call("GET", "/v1/products");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(r.headers.get("strict-transport-security")).toContain("max-age=");
  });
});
