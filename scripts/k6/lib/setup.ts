// What each scenario prepares before the load, over the public API only: the admin's login, a seller with
// products and a sale (or a coupon) unless an existing id is given, and the shoppers with their tokens.
import type { BrowseConfig, Common, CouponConfig, SpikeConfig } from "./config.ts";
import type { Flow, Req, Res, Shopper } from "./flow.ts";

/** Addresses from the benchmarking range (198.18.0.0/15), one per account: 0 admin, 1 seller, 2.. shoppers. */
export const address = (n: number) => `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;
/** Spreads a share evenly over indexes: exactly floor(share * n) of the first n have it. */
export const picked = (i: number, share: number) => Math.floor((i + 1) * share) > Math.floor(i * share);
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const runId = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const PASSWORD = "Load-test-1!";

/** Setup cannot go on without the expected answer: stop with what the edge said (and what to do about a 429). */
function must(r: Res, req: Req): Res {
  if (req.expect.includes(r.status)) return r;
  const detail = r.body && typeof r.body === "object" ? r.body.detail : r.body;
  const hint =
    r.status === 429
      ? " (the edge counts every request of this load generator against one address: start it with TRUSTED_PROXIES set to the generator's address, so each account's X-Forwarded-For counts)"
      : r.status === 0
        ? " (no answer: is the edge up at BASE_URL?)"
        : "";
  throw new Error(`setup: ${req.method} ${req.path} answered ${r.status} ${r.code} ${detail ?? ""}${hint}`);
}

/** Sends requests `batch` at a time; every answer must be expected. */
function* batched(reqs: Req[], batch: number): Flow<Res[]> {
  const out: Res[] = [];
  for (let i = 0; i < reqs.length; i += batch) {
    const part = reqs.slice(i, i + batch);
    const replies = (yield part) as Res[];
    for (const [j, r] of replies.entries()) out.push(must(r, part[j]!));
  }
  return out;
}

function* one(req: Req): Flow<Res> {
  return must((yield req) as Res, req);
}

function* login(email: string, password: string, from: string): Flow<string> {
  const r = yield* one({
    method: "POST",
    path: "/v1/auth/login",
    body: { email, password },
    from,
    name: "setup_login",
    expect: [200],
  });
  return r.body.accessToken;
}

/** New accounts of one role, one per address, signed up and logged in; their access tokens. */
function* accounts(c: Common, run: string, role: "shopper" | "seller", froms: string[]): Flow<string[]> {
  const email = (i: number) => `k6-${run}-${role}-${i}@flashsale.test`;
  const signups = froms.map(
    (from, i): Req => ({
      method: "POST",
      path: "/v1/auth/signup",
      body: { email: email(i), password: PASSWORD, name: `k6 ${role}`, role },
      from,
      name: "setup_signup",
      expect: [201],
    }),
  );
  yield* batched(signups, c.batch);
  const logins = froms.map(
    (from, i): Req => ({
      method: "POST",
      path: "/v1/auth/login",
      body: { email: email(i), password: PASSWORD },
      from,
      name: "setup_login",
      expect: [200],
    }),
  );
  return (yield* batched(logins, c.batch)).map((r) => r.body.accessToken as string);
}

function* shoppers(c: Common, run: string): Flow<Shopper[]> {
  const froms = Array.from({ length: c.shoppers }, (_, i) => address(2 + i));
  const tokens = yield* accounts(c, run, "shopper", froms);
  return tokens.map((token, i) => ({
    token,
    from: froms[i]!,
    method: picked(i, c.declineShare) ? "card_declined" : "card_ok",
    doubleClick: picked(i, c.duplicateShare),
  }));
}

/** Product names as shops write them, Korean compounds included, so searches find something. */
const NAMES = [
  "나이키운동화",
  "wireless keyboard",
  "coffee tumbler",
  "러닝화 운동화",
  "keyboard cover",
  "보온 tumbler",
];

/** A new seller with `n` products (stock ten times the sale's quantity), and the admin's sale of the first. */
function* catalog(
  c: Common,
  run: string,
  adminToken: string,
  n: number,
  perUserLimit = 1,
): Flow<{ productIds: string[]; saleId: string }> {
  const [seller] = yield* accounts(c, run, "seller", [address(1)]);
  const made = Array.from(
    { length: n },
    (_, i): Req => ({
      method: "POST",
      path: "/v1/products",
      body: { name: `k6 ${run} ${NAMES[i % NAMES.length]} ${i}`, price: 10_000 + i, stock: c.quantity * 10 },
      token: seller,
      from: address(1),
      name: "setup_product",
      expect: [201],
    }),
  );
  const productIds = (yield* batched(made, c.batch)).map((r) => r.body.id as string);
  const sale = yield* one({
    method: "POST",
    path: "/v1/sales",
    body: { productId: productIds[0], price: 5_000, quantity: c.quantity, perUserLimit, startsAt: iso(-5_000) },
    token: adminToken,
    key: `k6-${run}-sale`,
    from: address(0),
    name: "setup_sale",
    expect: [201],
  });
  return { productIds, saleId: sale.body.id };
}

export type SpikeData = { run: string; adminToken: string; saleId: string; shoppers: Shopper[] };

export function* setupSpike(c: SpikeConfig): Flow<SpikeData> {
  const run = runId();
  const adminToken = yield* login(c.admin.email, c.admin.password, address(0));
  const saleId = c.saleId || (yield* catalog(c, run, adminToken, 1, c.perUserLimit)).saleId;
  return { run, adminToken, saleId, shoppers: yield* shoppers(c, run) };
}

/** quantity: null when the coupon was given (COUPON_ID), not made here. */
export type CouponData = {
  run: string;
  adminToken: string;
  couponId: string;
  quantity: number | null;
  shoppers: Shopper[];
};

export function* setupCoupon(c: CouponConfig): Flow<CouponData> {
  const run = runId();
  const adminToken = yield* login(c.admin.email, c.admin.password, address(0));
  let couponId = c.couponId;
  if (!couponId) {
    const made = yield* one({
      method: "POST",
      path: "/v1/coupons",
      body: {
        name: `k6 ${run} coupon`,
        discount: { type: "amount", value: 3_000 },
        quantity: c.quantity,
        startsAt: iso(-5_000),
        endsAt: iso(3_600_000),
      },
      token: adminToken,
      key: `k6-${run}-coupon`,
      from: address(0),
      name: "setup_coupon",
      expect: [201],
    });
    couponId = made.body.id;
  }
  return { run, adminToken, couponId, quantity: c.couponId ? null : c.quantity, shoppers: yield* shoppers(c, run) };
}

export type BrowseData = {
  run: string;
  saleId: string;
  productIds: string[];
  pageSize: number;
  pages: number;
  shoppers: Shopper[];
};

export function* setupBrowse(c: BrowseConfig): Flow<BrowseData> {
  const run = runId();
  const adminToken = yield* login(c.admin.email, c.admin.password, address(0));
  let { saleId } = c;
  let productIds: string[];
  if (saleId) {
    const list = yield* one({
      method: "GET",
      path: `/v1/products?limit=${Math.min(c.products, 100)}`,
      from: address(0),
      name: "setup_products",
      expect: [200],
    });
    productIds = (list.body.items as { id: string; stock: number }[]).filter((p) => p.stock > 0).map((p) => p.id);
    if (!productIds.length) throw new Error("setup: no product with stock to put in the carts");
  } else ({ productIds, saleId } = yield* catalog(c, run, adminToken, c.products));
  const people = yield* shoppers(c, run);
  // one line in every cart, so a cart read joins a product and its live stock
  const carts = people.map(
    (s, i): Req => ({
      method: "PUT",
      path: `/v1/cart/items/${productIds[i % productIds.length]}`,
      body: { quantity: 1 },
      token: s.token,
      from: s.from,
      name: "setup_cart",
      expect: [200],
    }),
  );
  yield* batched(carts, c.batch);
  return { run, saleId, productIds, pageSize: c.pageSize, pages: c.pages, shoppers: people };
}
