// The purchase's decisions without Redis, Postgres or NATS: every refusal and every answer of the gate.
import { describe, expect, test } from "bun:test";
import type { Sale } from "../../db";
import type { PurchaseResult } from "../../domain/sale";
import { MAX_AMOUNT } from "../../nats";
import { decidePurchase, type PurchaseInput, refusePurchase } from "./decide";

const sale: Sale = {
  id: "0190f000-0000-7000-8000-000000000001",
  productId: "0190f000-0000-7000-8000-0000000000f0",
  sellerId: "0190f000-0000-7000-8000-0000000000ee",
  price: 1000,
  quantity: 50,
  perUserLimit: 2,
  startsAt: new Date("2026-01-01T10:00:00Z"),
  endsAt: new Date("2026-01-01T11:00:00Z"),
  createdAt: new Date("2026-01-01T09:00:00Z"),
};
const during = Date.parse("2026-01-01T10:30:00Z");
const after = Date.parse("2026-01-01T11:00:00Z");
const input = (p: Partial<PurchaseInput> = {}): PurchaseInput => ({ quantity: 1, paymentMethod: "card_ok", ...p });
const userId = "0190f000-0000-7000-8000-0000000000aa";
const orderId = "0190f000-0000-7000-8000-0000000000b1";
const itemId = "0190f000-0000-7000-8000-0000000000c1";
const couponId = "0190f000-0000-7000-8000-0000000000d1";
const won = (remaining = 10): PurchaseResult => ({
  ok: true,
  orderId,
  itemId,
  position: 7,
  remaining,
  replayed: false,
  placeBy: during + 8_000,
});
const replayed: PurchaseResult = { ok: true, orderId, itemId, replayed: true };
const lost = (code: Exclude<Extract<PurchaseResult, { ok: false }>["code"], "BUSY">): PurchaseResult => ({
  ok: false,
  code,
});

describe("refusePurchase", () => {
  test("an unkeyed purchase after the end is ENDED; a keyed one goes to the gate (it may be a replay)", () => {
    expect(refusePurchase(sale, input(), false, after)).toEqual({
      ok: false,
      code: "ENDED",
      detail: "the sale has ended",
    });
    expect(refusePurchase(sale, input(), true, after)).toBeUndefined();
    expect(refusePurchase(sale, input(), false, during)).toBeUndefined();
    expect(refusePurchase({ ...sale, endsAt: null }, input(), false, after)).toBeUndefined();
  });

  test("more than a shopper may buy, or an amount an order cannot hold", () => {
    expect(refusePurchase(sale, input({ quantity: 3 }), false, during)).toEqual({
      ok: false,
      code: "LIMIT_REACHED",
      detail: "at most 2 per shopper",
    });
    const dear = { ...sale, price: MAX_AMOUNT, perUserLimit: 10 };
    expect(refusePurchase(dear, input({ quantity: 1 }), false, during)).toBeUndefined();
    expect(refusePurchase(dear, input({ quantity: 2 }), false, during)).toMatchObject({
      ok: false,
      code: "VALIDATION_FAILED",
    });
  });
});

describe("decidePurchase", () => {
  const decide = (
    result: PurchaseResult,
    o: { coupon?: { type: "percent" | "amount"; value: number } | null; input?: PurchaseInput; key?: boolean } = {},
  ) =>
    decidePurchase({
      sale,
      userId,
      input: o.input ?? input(),
      result,
      coupon: o.coupon,
      ...(o.key ? { idempotency: { key: "k|1", requestHash: "h" } } : {}),
    });

  test("a won purchase: its position, and the order the saga gets", () => {
    expect(decide(won(), { input: input({ quantity: 2 }), key: true })).toEqual({
      ok: true,
      orderId,
      replayed: false,
      position: 7,
      soldOut: false,
      place: {
        orderId,
        userId,
        items: [{ itemId, productId: sale.productId, quantity: 2, price: 1000 }],
        total: 2000,
        discount: 0,
        saleId: sale.id,
        paymentMethod: "card_ok",
        idempotency: { key: "k|1", requestHash: "h" },
      },
      placeBy: during + 8_000,
    });
  });

  test("the last unit tells every edge the sale is sold out", () => {
    expect(decide(won(0))).toMatchObject({ ok: true, soldOut: true });
  });

  test("a coupon held lowers the total; a replay whose coupon its own order used publishes nothing", () => {
    const withCoupon = decide(won(), { coupon: { type: "percent", value: 10 }, input: input({ couponId }) });
    expect(withCoupon).toMatchObject({ ok: true, place: { total: 900, discount: 100, couponId } });
    const again = decide(replayed, { coupon: null, input: input({ couponId }), key: true });
    expect(again).toEqual({ ok: true, orderId, replayed: true, soldOut: false, place: undefined });
  });

  test("a replay: no position, published again under the same order", () => {
    const d = decide(replayed, { key: true });
    expect(d).toMatchObject({ ok: true, replayed: true, place: { orderId } });
    expect(d).not.toHaveProperty("position");
  });

  test("the gate's refusals", () => {
    expect(decide(lost("SOLD_OUT"))).toEqual({
      ok: false,
      code: "SOLD_OUT",
      detail: "this sale is sold out",
      soldOut: true,
    });
    // fewer units than asked is not none left
    expect(decide(lost("SOLD_OUT"), { input: input({ quantity: 2 }) })).toMatchObject({
      code: "SOLD_OUT",
      soldOut: false,
    });
    expect(decide(lost("LIMIT_REACHED"))).toMatchObject({
      code: "LIMIT_REACHED",
      detail: "at most 2 per shopper",
      soldOut: false,
    });
    expect(decide(lost("NOT_STARTED"))).toMatchObject({
      code: "NOT_STARTED",
      detail: "the sale starts at 2026-01-01T10:00:00.000Z",
    });
    expect(decide(lost("ENDED"))).toMatchObject({ code: "ENDED" });
    expect(decide(lost("IDEMPOTENCY_KEY_REUSED"))).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    for (const c of ["MISSING", "NONE"] as const)
      expect(decide(lost(c))).toMatchObject({ ok: false, code: "UPSTREAM_UNAVAILABLE" });
    expect(decide({ ok: false, code: "BUSY", orderId: "o", itemId: "i" })).toMatchObject({
      ok: false,
      code: "UPSTREAM_UNAVAILABLE",
    });
  });
});
