// The cart over HTTP: quantities checked against the product, totals computed by the edge, an order
// placed from the cart, the cart emptied only once that order is confirmed, and coupons on such orders.
import { beforeAll, describe, expect, test } from "bun:test";
import { type Account, accounts, adminAccount } from "../scripts/lib/accounts";
import { client, eventually } from "./client";
import { stack } from "./harness";

let api: ReturnType<typeof client>;
let seller: Account, admin: Account;
let env: Record<string, string>;

beforeAll(async () => {
  const s = await stack();
  env = s.env;
  api = client(s.edgeUrl);
  [seller] = (await accounts(env, "seller", 1)) as [Account];
  admin = await adminAccount(env);
});

const shopper = async () => ((await accounts(env, "shopper", 1)) as [Account])[0];
const put = (token: string, productId: string, quantity: unknown) =>
  api.call("PUT", `/v1/cart/items/${productId}`, { token, body: { quantity } });
const cartOf = async (token: string) =>
  (await api.call("GET", "/v1/cart", { token })).body as {
    items: { productId: string; quantity: number }[];
    total: number;
  };
const lines = (cart: { items: { productId: string; quantity: number }[] }) =>
  cart.items.map((i) => [i.productId, i.quantity]);
const order = (token: string, body: unknown) => api.call("POST", "/v1/orders", { token, body });

/** A coupon the shopper holds, recorded (visible in /v1/me/coupons). */
async function heldCoupon(token: string, discount: { type: "amount" | "percent"; value: number }) {
  const c = await api.call("POST", "/v1/coupons", {
    token: admin.token,
    body: {
      name: "Cart coupon",
      discount,
      quantity: 10,
      startsAt: new Date(Date.now() - 1000).toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    },
  });
  expect((await api.call("POST", `/v1/coupons/${c.body.id}/claim`, { token })).status).toBe(201);
  await eventually(async () => {
    const mine = (await api.call("GET", "/v1/me/coupons", { token })).body.items as { couponId: string }[];
    return mine.some((m) => m.couponId === c.body.id) ? true : undefined;
  });
  return c.body.id as string;
}
const couponStatus = async (token: string, couponId: string) =>
  ((await api.call("GET", "/v1/me/coupons", { token })).body.items as { couponId: string; status: string }[]).find(
    (m) => m.couponId === couponId,
  )?.status;

describe("cart", () => {
  test("set, change and remove quantities; the total is computed by the edge", async () => {
    const me = await shopper();
    const a = await api.product(seller.token, 1500, 10);
    const b = await api.product(seller.token, 700, 3);
    expect(await cartOf(me.token)).toEqual({ items: [], total: 0 });
    expect((await put(me.token, a.id, 2)).status).toBe(200);
    const both = await put(me.token, b.id, 1);
    expect(both.body).toEqual({
      items: [
        { productId: a.id, name: "Test product", price: 1500, quantity: 2, subtotal: 3000, stock: 10 },
        { productId: b.id, name: "Test product", price: 700, quantity: 1, subtotal: 700, stock: 3 },
      ],
      total: 3700,
    });
    expect((await put(me.token, a.id, 5)).body.total).toBe(5 * 1500 + 700); // set, not added
    await api.call("PATCH", `/v1/products/${b.id}`, { token: seller.token, body: { price: 900 } });
    expect((await cartOf(me.token)).total).toBe(5 * 1500 + 900); // prices are today's
    const removed = await api.call("DELETE", `/v1/cart/items/${a.id}`, { token: me.token });
    expect(removed.status).toBe(200);
    expect(lines(removed.body)).toEqual([[b.id, 1]]);
    expect((await api.call("DELETE", `/v1/cart/items/${a.id}`, { token: me.token })).status).toBe(404);
  });

  test("quantities are checked against the product: exists, not deleted, enough stock", async () => {
    const me = await shopper();
    const p = await api.product(seller.token, 1000, 3);
    const over = await put(me.token, p.id, 4);
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ code: "INSUFFICIENT_STOCK", available: 3 });
    for (const q of [0, -1, 1.5, "2"]) expect((await put(me.token, p.id, q)).body.code).toBe("VALIDATION_FAILED");
    expect((await put(me.token, crypto.randomUUID(), 1)).status).toBe(404);
    await api.call("DELETE", `/v1/products/${p.id}`, { token: seller.token });
    expect((await put(me.token, p.id, 1)).status).toBe(404);
    expect(await cartOf(me.token)).toEqual({ items: [], total: 0 });
    const [otherSeller] = (await accounts(env, "seller", 1)) as [Account];
    expect((await api.call("GET", "/v1/cart", { token: otherSeller.token })).status).toBe(403);
    expect((await api.call("GET", "/v1/cart")).status).toBe(401);
  });

  test("an order from the cart: once it is confirmed the cart loses the ordered lines, and only those", async () => {
    const me = await shopper();
    const a = await api.product(seller.token, 2000, 10);
    const b = await api.product(seller.token, 500, 10);
    await put(me.token, a.id, 2);
    await put(me.token, b.id, 3);
    const r = await order(me.token, { fromCart: true });
    expect(r.status).toBe(202);
    await put(me.token, (await api.product(seller.token, 100, 5)).id, 1).then((x) => expect(x.status).toBe(200)); // added after ordering
    const o = await api.settled(me.token, r.body.orderId);
    expect(o).toMatchObject({ status: "CONFIRMED", total: 5500, discount: 0 });
    expect(o.items.map((i: { productId: string; quantity: number }) => [i.productId, i.quantity])).toEqual([
      [a.id, 2],
      [b.id, 3],
    ]);
    const after = await eventually(
      async () => {
        const c = await cartOf(me.token);
        return c.items.length === 1 ? c : undefined;
      },
      5000,
      "the cart emptied of the ordered lines",
    );
    expect(after.total).toBe(100); // only the line added after ordering is left
    expect((await order(me.token, { fromCart: true, paymentMethod: "card_ok" })).status).toBe(202);
  });

  test("an empty cart, or items and fromCart together, is a 400", async () => {
    const me = await shopper();
    expect((await order(me.token, { fromCart: true })).body).toMatchObject({ status: 400, code: "VALIDATION_FAILED" });
    const p = await api.product(seller.token, 100, 5);
    expect((await order(me.token, { fromCart: true, items: [{ productId: p.id, quantity: 1 }] })).status).toBe(400);
    expect((await order(me.token, {})).status).toBe(400);
  });
});

describe("coupons on orders", () => {
  test("a confirmed order shows the discount and the discounted total; its coupon is USED", async () => {
    const me = await shopper();
    const p = await api.product(seller.token, 10_000, 5);
    const couponId = await heldCoupon(me.token, { type: "percent", value: 15 });
    await put(me.token, p.id, 2);
    const r = await order(me.token, { fromCart: true, couponId });
    expect(r.status).toBe(202);
    const o = await api.settled(me.token, r.body.orderId);
    expect(o).toMatchObject({ status: "CONFIRMED", discount: 3000, total: 17_000 });
    const mine = (await api.call("GET", "/v1/me/coupons", { token: me.token })).body.items[0];
    expect(mine).toMatchObject({ couponId, status: "USED", usedAt: expect.any(String) });
    // a used coupon cannot be used again
    const again = await order(me.token, { items: [{ productId: p.id, quantity: 1 }], couponId });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe("VALIDATION_FAILED");
    await eventually(
      async () => ((await cartOf(me.token)).items.length === 0 ? true : undefined),
      5000,
      "cart emptied",
    );
  });

  test("a declined payment: the cart is kept and the coupon comes back", async () => {
    const me = await shopper();
    const p = await api.product(seller.token, 3000, 5);
    const couponId = await heldCoupon(me.token, { type: "amount", value: 1000 });
    await put(me.token, p.id, 2);
    const before = await cartOf(me.token);
    const r = await order(me.token, { fromCart: true, couponId, paymentMethod: "card_declined" });
    const o = await api.settled(me.token, r.body.orderId);
    expect(o).toMatchObject({ status: "CANCELLED", reason: "PAYMENT_DECLINED", discount: 1000, total: 5000 });
    expect(await couponStatus(me.token, couponId)).toBe("AVAILABLE"); // restored before the order was cancelled
    await Bun.sleep(500); // the cancellation is committed, and the cart with it, by now
    expect(await cartOf(me.token)).toEqual(before);
    expect((await api.call("GET", `/v1/products/${p.id}`)).body.stock).toBe(5);
    // and it can be used again
    const retry = await order(me.token, { fromCart: true, couponId });
    expect((await api.settled(me.token, retry.body.orderId)).status).toBe("CONFIRMED");
  });

  test("two orders racing for one coupon: one uses it, the other is cancelled as COUPON_INVALID", async () => {
    const me = await shopper();
    const p = await api.product(seller.token, 1000, 10);
    const couponId = await heldCoupon(me.token, { type: "amount", value: 100 });
    const [x, y] = await Promise.all(
      [0, 1].map(() => order(me.token, { items: [{ productId: p.id, quantity: 1 }], couponId })),
    );
    const settled = await Promise.all([x!, y!].map((r) => api.settled(me.token, r.body.orderId)));
    expect(settled.map((o) => o.status).sort()).toEqual(["CANCELLED", "CONFIRMED"]);
    expect(settled.find((o) => o.status === "CANCELLED")).toMatchObject({ reason: "COUPON_INVALID" });
    expect(await couponStatus(me.token, couponId)).toBe("USED");
    expect((await api.call("GET", `/v1/products/${p.id}`)).body.stock).toBe(9); // the cancelled one's unit came back
  });

  test("a coupon the shopper does not hold is a 404", async () => {
    const me = await shopper();
    const p = await api.product(seller.token, 1000, 10);
    const r = await order(me.token, { items: [{ productId: p.id, quantity: 1 }], couponId: crypto.randomUUID() });
    expect(r.status).toBe(404);
  });
});
