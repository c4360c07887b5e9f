// The first path end to end over HTTP: confirmed, declined (stock back), out of stock, timeout,
// idempotent replay, someone else's order, cancel.
import { beforeAll, describe, expect, test } from "bun:test";
import { client, eventually, type Json } from "./client";
import { admin, stack } from "./harness";

let api: ReturnType<typeof client>;
let seller: Awaited<ReturnType<typeof api.user>>;
let shopper: Awaited<ReturnType<typeof api.user>>;

beforeAll(async () => {
  api = client((await stack()).edgeUrl);
  seller = await api.user("seller");
  shopper = await api.user("shopper");
});

const order = (token: string, body: unknown, key?: string) =>
  api.call("POST", "/v1/orders", { token, body, headers: key ? { "idempotency-key": key } : {} });
const stockOf = async (id: string) => (await api.call("GET", `/v1/products/${id}`)).body.stock as number;

describe("orders through the saga", () => {
  test("a paid order is confirmed, with items, total and history", async () => {
    const p = await api.product(seller.token, 1500, 10);
    const r = await order(shopper.token, { items: [{ productId: p.id, quantity: 3 }] }, crypto.randomUUID());
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ orderId: expect.any(String), status: "PENDING" });
    const o = await api.settled(shopper.token, r.body.orderId);
    expect(o.status).toBe("CONFIRMED");
    expect(o.total).toBe(4500);
    expect(o.items).toEqual([{ id: expect.any(String), productId: p.id, quantity: 3, price: 1500, status: "ACTIVE" }]);
    expect(o.history.map((h: { status: string }) => h.status)).toEqual(["PENDING", "CONFIRMED"]);
    expect(await stockOf(p.id)).toBe(7);
  });

  test("a declined payment cancels the order and puts the stock back", async () => {
    const p = await api.product(seller.token, 1000, 5);
    const r = await order(shopper.token, { items: [{ productId: p.id, quantity: 2 }], paymentMethod: "card_declined" });
    expect(r.status).toBe(202);
    const o = await api.settled(shopper.token, r.body.orderId);
    expect(o).toMatchObject({ status: "CANCELLED", reason: "PAYMENT_DECLINED" });
    expect(await stockOf(p.id)).toBe(5);
  });

  test("more than the stock is cancelled as OUT_OF_STOCK and takes nothing", async () => {
    const p = await api.product(seller.token, 1000, 2);
    const q = await api.product(seller.token, 1000, 9);
    const r = await order(shopper.token, {
      items: [
        { productId: q.id, quantity: 1 },
        { productId: p.id, quantity: 3 },
      ],
    });
    const o = await api.settled(shopper.token, r.body.orderId);
    expect(o).toMatchObject({ status: "CANCELLED", reason: "OUT_OF_STOCK" });
    expect(await stockOf(p.id)).toBe(2);
    expect(await stockOf(q.id)).toBe(9);
  });

  test("a payment that never answers is cancelled at the deadline as PAYMENT_TIMEOUT", async () => {
    const p = await api.product(seller.token, 1000, 4);
    const r = await order(shopper.token, {
      items: [{ productId: p.id, quantity: 1 }],
      paymentMethod: "card_no_answer",
    });
    const o = await api.settled(shopper.token, r.body.orderId);
    expect(o).toMatchObject({ status: "CANCELLED", reason: "PAYMENT_TIMEOUT" });
    expect(await stockOf(p.id)).toBe(4);
  });

  test("the same Idempotency-Key and body returns the same order; another body is refused", async () => {
    const p = await api.product(seller.token, 1000, 10);
    const key = crypto.randomUUID();
    const body = { items: [{ productId: p.id, quantity: 1 }] };
    const [a, b] = await Promise.all([order(shopper.token, body, key), order(shopper.token, body, key)]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.orderId).toBe(a.body.orderId);
    const c = await order(shopper.token, body, key);
    expect(c.body.orderId).toBe(a.body.orderId);
    expect(c.headers.get("idempotent-replayed")).toBe("true");
    await api.settled(shopper.token, a.body.orderId);
    expect(await stockOf(p.id)).toBe(9);
    const other = await order(shopper.token, { items: [{ productId: p.id, quantity: 2 }] }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const list = await api.call("GET", "/v1/orders?limit=100", { token: shopper.token });
    expect(list.body.items.filter((o: { id: string }) => o.id === a.body.orderId)).toHaveLength(1);
  });

  test("someone else's order is 404, as is a missing one", async () => {
    const p = await api.product(seller.token, 1000, 10);
    const r = await order(shopper.token, { items: [{ productId: p.id, quantity: 1 }] });
    const stranger = await api.user("shopper");
    const theirs = await api.call("GET", `/v1/orders/${r.body.orderId}`, { token: stranger.token });
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe("NOT_FOUND");
    expect(theirs.headers.get("content-type")).toContain("application/problem+json");
    const missing = await api.call("GET", `/v1/orders/${crypto.randomUUID()}`, { token: shopper.token });
    expect(missing.status).toBe(404);
    expect((await api.call("POST", `/v1/orders/${r.body.orderId}/cancel`, { token: stranger.token })).status).toBe(404);
  });

  test("an unknown product is 404 and creates nothing", async () => {
    const before = await api.call("GET", "/v1/orders?limit=100", { token: shopper.token });
    const r = await order(shopper.token, { items: [{ productId: crypto.randomUUID(), quantity: 1 }] });
    expect(r.status).toBe(404);
    const after = await api.call("GET", "/v1/orders?limit=100", { token: shopper.token });
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  test("bad input is a 400 problem and changes nothing", async () => {
    const p = await api.product(seller.token, 1000, 3);
    for (const body of [
      { items: [] },
      { items: [{ productId: p.id, quantity: 0 }] },
      { items: [{ productId: "x", quantity: 1 }] },
      { items: [{ productId: p.id, quantity: 1 }], paymentMethod: "cash" },
    ]) {
      const r = await order(shopper.token, body);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("VALIDATION_FAILED");
    }
    expect((await order(shopper.token, "{not json")).body.code).toBe("MALFORMED_JSON");
    expect(await stockOf(p.id)).toBe(3);
  });

  test("cancelling a confirmed order refunds it and puts the stock back", async () => {
    const p = await api.product(seller.token, 2000, 6);
    const r = await order(shopper.token, { items: [{ productId: p.id, quantity: 2 }] });
    expect((await api.settled(shopper.token, r.body.orderId)).status).toBe("CONFIRMED");
    const c = await api.call("POST", `/v1/orders/${r.body.orderId}/cancel`, { token: shopper.token });
    expect(c.status).toBe(202);
    const o = await api.settled(shopper.token, r.body.orderId).then(async function wait(o): Promise<Json> {
      if (o.status === "CANCELLED") return o;
      await Bun.sleep(50);
      return wait((await api.call("GET", `/v1/orders/${r.body.orderId}`, { token: shopper.token })).body);
    });
    expect(o).toMatchObject({ status: "CANCELLED", reason: "CANCELLED_BY_USER" });
    expect(o.history.map((h: { status: string }) => h.status)).toEqual(["PENDING", "CONFIRMED", "CANCELLED"]);
    expect(await stockOf(p.id)).toBe(6);
    const again = await api.call("POST", `/v1/orders/${r.body.orderId}/cancel`, { token: shopper.token });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("NOT_CANCELLABLE");
  });
});

describe("orders: found by the review", () => {
  test("one item of a pending order with several items cannot be cancelled alone (409, nothing changes)", async () => {
    const p = await api.product(seller.token, 1000, 5);
    const q = await api.product(seller.token, 2000, 5);
    const r = await order(shopper.token, {
      items: [
        { productId: p.id, quantity: 1 },
        { productId: q.id, quantity: 1 },
      ],
      paymentMethod: "card_no_answer",
    });
    const pending = (await api.call("GET", `/v1/orders/${r.body.orderId}`, { token: shopper.token })).body;
    expect(pending.status).toBe("PENDING");
    const c = await api.call("POST", `/v1/orders/${r.body.orderId}/items/${pending.items[0].id}/cancel`, {
      token: shopper.token,
    });
    expect([c.status, c.body.code]).toEqual([409, "NOT_CANCELLABLE"]);
    const o = await api.settled(shopper.token, r.body.orderId);
    expect(o.reason).toBe("PAYMENT_TIMEOUT");
    expect(o.items.every((i: { status: string }) => i.status === "ACTIVE")).toBe(true);
  });

  test("a retry with the same key gets the first answer even after its coupon was used by that order", async () => {
    const adminToken = await api.login(admin.email, admin.password);
    const coupon = await api.call("POST", "/v1/coupons", {
      token: adminToken,
      body: {
        name: "Retry coupon",
        discount: { type: "percent", value: 10 },
        quantity: 5,
        startsAt: new Date(Date.now() - 1000).toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    const me = await api.user();
    expect((await api.call("POST", `/v1/coupons/${coupon.body.id}/claim`, { token: me.token })).status).toBe(201);
    await eventually(async () =>
      ((await api.call("GET", "/v1/me/coupons", { token: me.token })).body.items as { couponId: string }[]).some(
        (m) => m.couponId === coupon.body.id,
      )
        ? true
        : undefined,
    );
    const p = await api.product(seller.token, 10_000, 5);
    const body = { items: [{ productId: p.id, quantity: 1 }], couponId: coupon.body.id };
    const key = crypto.randomUUID();
    const first = await order(me.token, body, key);
    expect(first.status).toBe(202);
    expect(await api.settled(me.token, first.body.orderId)).toMatchObject({
      status: "CONFIRMED",
      total: 9000,
      discount: 1000,
    });
    const retry = await order(me.token, body, key);
    expect([retry.status, retry.body.orderId]).toEqual([202, first.body.orderId]);
  });
});

describe("contract v1.1: money", () => {
  const view = async (token: string, id: string) => (await api.call("GET", `/v1/orders/${id}`, { token })).body;

  test("a cancelled item refunds its share of what was paid; cancelling every item refunds the rest and gives the coupon back", async () => {
    const adminToken = await api.login(admin.email, admin.password);
    const coupon = await api.call("POST", "/v1/coupons", {
      token: adminToken,
      body: {
        name: "Half off",
        discount: { type: "percent", value: 50 },
        quantity: 5,
        startsAt: new Date(Date.now() - 1000).toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(coupon.status).toBe(201);
    const me = await api.user();
    expect((await api.call("POST", `/v1/coupons/${coupon.body.id}/claim`, { token: me.token })).status).toBe(201);
    const held = async () =>
      (
        (await api.call("GET", "/v1/me/coupons", { token: me.token })).body.items as {
          couponId: string;
          status: string;
        }[]
      ).find((m) => m.couponId === coupon.body.id);
    await eventually(async () => ((await held())?.status === "AVAILABLE" ? true : undefined));
    const p = await api.product(seller.token, 10_000, 5);
    const q = await api.product(seller.token, 10_000, 5);
    const r = await order(me.token, {
      items: [
        { productId: p.id, quantity: 1 },
        { productId: q.id, quantity: 1 },
      ],
      couponId: coupon.body.id,
    });
    expect(r.status).toBe(202);
    const confirmed = await api.settled(me.token, r.body.orderId);
    expect(confirmed).toMatchObject({ status: "CONFIRMED", total: 10_000, discount: 10_000, refunded: 0 });

    // one of two equal items: half of the 10,000 charged, not its 10,000 list price
    const [a, b] = confirmed.items as { id: string }[];
    expect(
      (await api.call("POST", `/v1/orders/${r.body.orderId}/items/${a!.id}/cancel`, { token: me.token })).status,
    ).toBe(202);
    const partly = await eventually(async () => {
      const o = await view(me.token, r.body.orderId);
      return o.refunded > 0 ? o : undefined;
    });
    expect(partly).toMatchObject({ status: "CONFIRMED", refunded: 5_000 });
    expect((await held())?.status).toBe("USED");

    // the last item is the whole order: the remainder comes back, and the coupon with it
    expect(
      (await api.call("POST", `/v1/orders/${r.body.orderId}/items/${b!.id}/cancel`, { token: me.token })).status,
    ).toBe(202);
    const cancelled = await eventually(async () => {
      const o = await view(me.token, r.body.orderId);
      return o.status === "CANCELLED" && o.refunded === 10_000 ? o : undefined;
    });
    expect(cancelled.reason).toBe("CANCELLED_BY_USER");
    await eventually(
      async () => ((await held())?.status === "AVAILABLE" ? true : undefined),
      10_000,
      "the coupon to come back",
    );
    const listed = (await api.call("GET", "/v1/orders?limit=5", { token: me.token })).body.items.find(
      (o: { id: string }) => o.id === r.body.orderId,
    );
    expect(listed.refunded).toBe(10_000);
    const documented = (await api.call("GET", "/openapi.json")).body.components.schemas.Order;
    expect(documented.properties.refunded).toMatchObject({ type: "integer" });
    expect(documented.required).toContain("refunded");
    expect(await stockOf(p.id)).toBe(5);
    expect(await stockOf(q.id)).toBe(5);
  });

  test("an order whose amount would not fit the money columns is a 400 and writes nothing", async () => {
    const p = await api.product(seller.token, 1_000_000_000, 5_000);
    const before = (await api.call("GET", "/v1/orders?limit=100", { token: shopper.token })).body.items.length;
    for (const items of [
      [{ productId: p.id, quantity: 1000 }],
      // each line fits, their sum does not
      [
        { productId: p.id, quantity: 2 },
        { productId: p.id, quantity: 1 },
      ],
    ]) {
      const r = await order(shopper.token, { items }, crypto.randomUUID());
      expect([r.status, r.body.code]).toEqual([400, "VALIDATION_FAILED"]);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    expect((await api.call("GET", "/v1/orders?limit=100", { token: shopper.token })).body.items.length).toBe(before);
    expect(await stockOf(p.id)).toBe(5_000);
    // the largest amount that fits goes through
    const fits = await order(shopper.token, { items: [{ productId: p.id, quantity: 2 }] });
    expect(fits.status).toBe(202);
    expect(await api.settled(shopper.token, fits.body.orderId)).toMatchObject({
      status: "CONFIRMED",
      total: 2_000_000_000,
    });
  });
});
