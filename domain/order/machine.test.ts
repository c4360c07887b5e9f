import { describe, expect, test } from "bun:test";
import type { SagaEvent } from "./machine";
import { applyEvent, type Step, startSaga } from "./saga";

const orderId = "0190f000-0000-7000-8000-000000000001";
const userId = "0190f000-0000-7000-8000-0000000000aa";
const itemA = "0190f000-0000-7000-8000-00000000000a";
const itemB = "0190f000-0000-7000-8000-00000000000b";
const product = "0190f000-0000-7000-8000-0000000000f0";

function start(paymentMethod: "card_ok" | "card_declined" | "card_no_answer" = "card_ok") {
  return startSaga({
    orderId,
    userId,
    items: [
      { itemId: itemA, productId: product, quantity: 2, price: 1000 },
      { itemId: itemB, productId: product, quantity: 1, price: 500 },
    ],
    total: 2500,
    discount: 0,
    paymentMethod,
    at: 0,
    paymentDeadlineMs: 30_000,
  });
}

type Ev = Omit<SagaEvent, "at"> & { at?: number };
function run(step: Step, ...events: Ev[]): Step {
  return events.reduce((s, e) => applyEvent(s.snapshot, { at: 1, ...e } as SagaEvent), step);
}
const types = (s: Step) => s.commands.map((c) => c.type);

const reserved: Ev = { type: "inventory.evt.reserved", data: { orderId } };
const approved: Ev = { type: "payments.evt.approved", data: { orderId, amount: 2500 } };
const declined: Ev = { type: "payments.evt.declined", data: { orderId } };
const released = (...itemIds: string[]): Ev => ({ type: "inventory.evt.released", data: { orderId, itemIds } });
const refunded = (amount: number, key: string): Ev => ({
  type: "payments.evt.refunded",
  data: { orderId, amount, key },
});
const cancel = (itemId?: string): Ev => ({
  type: "orders.cmd.cancel",
  data: { orderId, ...(itemId ? { itemId } : {}) },
});

describe("order saga", () => {
  test("happy path: reserve, charge, confirm", () => {
    const s0 = start();
    expect(s0.state).toBe("reservingStock");
    expect(types(s0)).toEqual(["inventory.cmd.reserve"]);
    const s1 = run(s0, reserved);
    expect(s1.state).toBe("charging");
    expect(s1.commands).toEqual([{ type: "payments.cmd.charge", data: { orderId, amount: 2500, method: "card_ok" } }]);
    expect(s1.context.deadlineAt).toBe(30_001);
    const s2 = run(s1, approved);
    expect(s2.state).toBe("confirmed");
    expect(s2.context.status).toBe("CONFIRMED");
    expect(types(s2)).toEqual(["orders.evt.confirmed"]);
  });

  test("refused at placement (past the limit, or no unit left in Postgres): cancelled before any step", () => {
    for (const refused of ["LIMIT_REACHED", "OUT_OF_STOCK"] as const) {
      const s = startSaga({ ...start().context, at: 0, refused });
      expect(s.state).toBe("cancelled");
      expect(s.context).toMatchObject({ status: "CANCELLED", reason: refused, stockReserved: false, charged: 0 });
      expect(s.commands).toEqual([{ type: "orders.evt.cancelled", data: { orderId, userId, reason: refused } }]);
      // a late payment or a stray reservation changes nothing
      expect(run(s, reserved).handled).toBe(false);
    }
  });

  test("out of stock: cancelled at once, nothing to compensate", () => {
    const s = run(start(), { type: "inventory.evt.rejected", data: { orderId, reason: "OUT_OF_STOCK" } });
    expect(s.state).toBe("cancelled");
    expect(s.context.reason).toBe("OUT_OF_STOCK");
    expect(types(s)).toEqual(["orders.evt.cancelled"]);
  });

  test("declined: stock released, then cancelled", () => {
    const s1 = run(start("card_declined"), reserved, declined);
    expect(s1.state).toBe("compensating");
    expect(s1.commands).toEqual([{ type: "inventory.cmd.release", data: { orderId, itemIds: [itemA, itemB] } }]);
    expect(s1.context.status).toBe("PENDING");
    const s2 = run(s1, released(itemB, itemA));
    expect(s2.state).toBe("cancelled");
    expect(s2.context).toMatchObject({ status: "CANCELLED", reason: "PAYMENT_DECLINED" });
  });

  test("timeout only once the deadline has passed", () => {
    const charging = run(start("card_no_answer"), reserved);
    const early = applyEvent(charging.snapshot, { type: "orders.cmd.timeout", data: { orderId }, at: 29_000 });
    expect(early.handled).toBe(false);
    expect(early.state).toBe("charging");
    const late = applyEvent(charging.snapshot, { type: "orders.cmd.timeout", data: { orderId }, at: 30_001 });
    expect(late.state).toBe("compensating");
    expect(run(late, released(itemA, itemB)).context.reason).toBe("PAYMENT_TIMEOUT");
  });

  test("a payment approved after the timeout is refunded", () => {
    const timedOut = run(
      start("card_no_answer"),
      reserved,
      { type: "orders.cmd.timeout", data: { orderId }, at: 40_000 },
      released(itemA, itemB),
    );
    expect(timedOut.state).toBe("cancelled");
    const late = run(timedOut, approved);
    expect(late.commands).toEqual([
      { type: "payments.cmd.refund", data: { orderId, amount: 2500, key: `late:${orderId}` } },
    ]);
  });

  test("user cancel after confirmation: stock back and full refund, both awaited", () => {
    const s1 = run(start(), reserved, approved, cancel());
    expect(s1.state).toBe("compensating");
    expect(s1.context.status).toBe("CONFIRMED");
    expect(types(s1).sort()).toEqual(["inventory.cmd.release", "payments.cmd.refund"]);
    const s2 = run(s1, refunded(2500, `order:${orderId}`));
    expect(s2.state).toBe("compensating");
    const s3 = run(s2, released(itemA, itemB));
    expect(s3.state).toBe("cancelled");
    expect(s3.context.reason).toBe("CANCELLED_BY_USER");
  });

  test("partial cancel refunds one item and keeps the order confirmed", () => {
    const s1 = run(start(), reserved, approved, cancel(itemB));
    expect(s1.state).toBe("confirmed");
    expect(s1.commands).toEqual([
      { type: "inventory.cmd.release", data: { orderId, itemIds: [itemB] } },
      { type: "payments.cmd.refund", data: { orderId, amount: 500, key: `item:${itemB}` } },
    ]);
    expect(run(s1, cancel(itemB)).handled).toBe(false);
    // cancelling the last active item cancels the order, refunding only what is left
    const s2 = run(s1, cancel(itemA));
    expect(s2.state).toBe("compensating");
    expect(s2.commands).toEqual([
      { type: "inventory.cmd.release", data: { orderId, itemIds: [itemA] } },
      { type: "payments.cmd.refund", data: { orderId, amount: 2000, key: `order:${orderId}` } },
    ]);
    // the earlier item refund answering late does not end the compensation
    const s3 = run(s2, refunded(500, `item:${itemB}`), released(itemB));
    expect(s3.state).toBe("compensating");
    expect(run(s3, refunded(2000, `order:${orderId}`), released(itemA)).state).toBe("cancelled");
  });

  test("cancel while stock is being reserved waits for the reservation, then releases it", () => {
    const s1 = run(start(), cancel());
    expect(s1.state).toBe("reservingStock");
    const s2 = run(s1, reserved);
    expect(s2.state).toBe("compensating");
    expect(types(s2)).toEqual(["inventory.cmd.release"]);
    expect(run(s2, released(itemA, itemB)).context.reason).toBe("CANCELLED_BY_USER");
  });

  test("cancel while charging: compensates, and a late approval is refunded", () => {
    const s1 = run(start(), reserved, cancel());
    expect(s1.state).toBe("compensating");
    const s2 = run(s1, approved);
    expect(s2.commands).toEqual([
      { type: "payments.cmd.refund", data: { orderId, amount: 2500, key: `late:${orderId}` } },
    ]);
  });

  test("stray events are reported as unhandled and change nothing", () => {
    const s0 = start();
    const s1 = run(s0, approved);
    expect(s1.handled).toBe(false);
    expect(s1.snapshot).toEqual(s0.snapshot);
    const done = run(s0, reserved, approved);
    expect(run(done, declined).handled).toBe(false);
  });

  test("snapshots survive a JSON round trip", () => {
    const s1 = run(start(), reserved);
    const restored = JSON.parse(JSON.stringify(s1.snapshot));
    expect(applyEvent(restored, { ...approved, at: 2 } as SagaEvent).state).toBe("confirmed");
  });
});

describe("coupon redemption", () => {
  const couponId = "0190f000-0000-7000-8000-0000000000c0";
  const userCouponId = "0190f000-0000-7000-8000-0000000000c1";
  const withCoupon = (paymentMethod: "card_ok" | "card_declined" | "card_no_answer" = "card_ok") =>
    startSaga({ ...start(paymentMethod).context, total: 2000, discount: 500, couponId, at: 0 });
  const redeemed: Ev = { type: "coupons.evt.redeemed", data: { orderId, userCouponId } };
  const rejected: Ev = { type: "coupons.evt.rejected", data: { orderId, reason: "COUPON_INVALID" } };
  const couponBack: Ev = { type: "coupons.evt.restored", data: { orderId, couponId } };
  const redeem = { type: "coupons.cmd.redeem" as const, data: { orderId, userId, couponId } };
  const restore = { type: "coupons.cmd.restore" as const, data: { orderId, userId, couponId } };
  const byType = (s: Step) => [...s.commands].sort((a, b) => a.type.localeCompare(b.type));

  test("reserve, redeem, charge the discounted total, confirm", () => {
    const s1 = run(withCoupon(), reserved);
    expect(s1.state).toBe("redeemingCoupon");
    expect(s1.commands).toEqual([redeem]);
    const s2 = run(s1, redeemed);
    expect(s2.state).toBe("charging");
    expect(s2.context.couponRedeemed).toBe(true);
    expect(s2.commands).toEqual([{ type: "payments.cmd.charge", data: { orderId, amount: 2000, method: "card_ok" } }]);
    const s3 = run(s2, { type: "payments.evt.approved", data: { orderId, amount: 2000 } });
    expect(s3.state).toBe("confirmed");
    expect(s3.context).toMatchObject({ status: "CONFIRMED", total: 2000, discount: 500 });
  });

  test("without a coupon the saga goes from the stock straight to the payment", () => {
    const s = run(start(), reserved);
    expect(s.state).toBe("charging");
    expect(types(s)).not.toContain("coupons.cmd.redeem");
  });

  test("a rejected coupon gives the stock back and cancels as COUPON_INVALID, restoring nothing", () => {
    const s1 = run(withCoupon(), reserved, rejected);
    expect(s1.state).toBe("compensating");
    expect(s1.commands).toEqual([{ type: "inventory.cmd.release", data: { orderId, itemIds: [itemA, itemB] } }]);
    const s2 = run(s1, released(itemA, itemB));
    expect(s2.state).toBe("cancelled");
    expect(s2.context).toMatchObject({ status: "CANCELLED", reason: "COUPON_INVALID" });
  });

  test("a declined payment gives back the stock and the coupon, and waits for both", () => {
    const s1 = run(withCoupon("card_declined"), reserved, redeemed, declined);
    expect(s1.state).toBe("compensating");
    expect(byType(s1)).toEqual([
      restore,
      { type: "inventory.cmd.release", data: { orderId, itemIds: [itemA, itemB] } },
    ]);
    const s2 = run(s1, couponBack);
    expect(s2.state).toBe("compensating");
    const s3 = run(s2, released(itemA, itemB));
    expect(s3.state).toBe("cancelled");
    expect(s3.context).toMatchObject({ reason: "PAYMENT_DECLINED", couponRedeemed: false });
  });

  test("a payment timeout gives the coupon back too", () => {
    const s1 = run(withCoupon("card_no_answer"), reserved, redeemed, {
      type: "orders.cmd.timeout",
      data: { orderId },
      at: 30_001,
    });
    expect(s1.state).toBe("compensating");
    expect(types(s1)).toContain("coupons.cmd.restore");
    expect(run(s1, released(itemA, itemB), couponBack).context.reason).toBe("PAYMENT_TIMEOUT");
  });

  test("cancel while redeeming waits for the answer, then gives back stock and coupon", () => {
    const s1 = run(withCoupon(), reserved, cancel());
    expect(s1.state).toBe("redeemingCoupon");
    expect(s1.handled).toBe(true);
    const s2 = run(s1, redeemed);
    expect(s2.state).toBe("compensating");
    expect(byType(s2)).toEqual([
      restore,
      { type: "inventory.cmd.release", data: { orderId, itemIds: [itemA, itemB] } },
    ]);
    expect(run(s2, couponBack, released(itemA, itemB)).context).toMatchObject({
      status: "CANCELLED",
      reason: "CANCELLED_BY_USER",
    });
  });

  test("cancel while redeeming, coupon rejected: stock back, cancelled by the user", () => {
    const s1 = run(withCoupon(), reserved, cancel(), rejected);
    expect(types(s1)).toEqual(["inventory.cmd.release"]);
    expect(run(s1, released(itemA, itemB)).context.reason).toBe("CANCELLED_BY_USER");
  });

  test("cancel after confirmation: refund, stock and coupon back, all awaited", () => {
    const paid: Ev = { type: "payments.evt.approved", data: { orderId, amount: 2000 } };
    const s1 = run(withCoupon(), reserved, redeemed, paid, cancel());
    expect(s1.state).toBe("compensating");
    expect(types(s1).sort()).toEqual(["coupons.cmd.restore", "inventory.cmd.release", "payments.cmd.refund"]);
    expect(s1.commands).toContainEqual({
      type: "payments.cmd.refund",
      data: { orderId, amount: 2000, key: `order:${orderId}` },
    });
    const s2 = run(s1, refunded(2000, `order:${orderId}`), released(itemA, itemB));
    expect(s2.state).toBe("compensating");
    expect(run(s2, couponBack).state).toBe("cancelled");
  });

  test("a partial cancel keeps the coupon used", () => {
    const paid: Ev = { type: "payments.evt.approved", data: { orderId, amount: 2000 } };
    const s = run(withCoupon(), reserved, redeemed, paid, cancel(itemB));
    expect(s.state).toBe("confirmed");
    expect(types(s)).not.toContain("coupons.cmd.restore");
    expect(s.context.couponRedeemed).toBe(true);
  });

  test("a partial cancel refunds the item's share of the discounted charge; the last item the rest, with the coupon", () => {
    const paid: Ev = { type: "payments.evt.approved", data: { orderId, amount: 2000 } };
    // 2,500 less 500: item A (2,000) carries 400 of the discount, item B (500) 100
    const s1 = run(withCoupon(), reserved, redeemed, paid, cancel(itemB));
    expect(s1.commands).toContainEqual({
      type: "payments.cmd.refund",
      data: { orderId, amount: 400, key: `item:${itemB}` },
    });
    expect(s1.context.refunded).toBe(400);
    const s2 = run(s1, cancel(itemA));
    expect(s2.state).toBe("compensating");
    expect(byType(s2)).toEqual([
      restore,
      { type: "inventory.cmd.release", data: { orderId, itemIds: [itemA] } },
      { type: "payments.cmd.refund", data: { orderId, amount: 1600, key: `order:${orderId}` } },
    ]);
    expect(s2.context.refunded).toBe(2000);
  });

  test("coupon answers out of place change nothing", () => {
    expect(run(withCoupon(), redeemed).handled).toBe(false);
    expect(run(withCoupon(), reserved, redeemed, redeemed).handled).toBe(false);
    expect(run(withCoupon(), reserved, redeemed, rejected).handled).toBe(false);
  });
});

describe("delivery progression", () => {
  const ship: Ev = { type: "orders.cmd.ship", data: { orderId } };
  const deliver: Ev = { type: "orders.cmd.deliver", data: { orderId } };
  const timeout = (at: number): Ev => ({ type: "orders.cmd.timeout", data: { orderId }, at });

  test("confirmed, shipped, delivered; each status in the context, no commands", () => {
    const shipped = run(start(), reserved, approved, ship);
    expect(shipped.state).toBe("shipped");
    expect(shipped.context.status).toBe("SHIPPED");
    expect(shipped.context.deadlineAt).toBeUndefined();
    expect(shipped.commands).toEqual([]);
    const delivered = run(shipped, deliver);
    expect(delivered.state).toBe("delivered");
    expect(delivered.context.status).toBe("DELIVERED");
    expect(run(delivered, deliver).handled).toBe(false);
  });

  test("only a confirmed order ships, only a shipped one is delivered", () => {
    expect(run(start(), ship).handled).toBe(false);
    expect(run(start(), reserved, ship).handled).toBe(false);
    expect(run(start(), reserved, approved, deliver).handled).toBe(false);
    expect(run(start(), reserved, declined, ship).handled).toBe(false);
  });

  test("a shipped order cannot be cancelled, wholly or by item", () => {
    const shipped = run(start(), reserved, approved, ship);
    expect(run(shipped, cancel()).handled).toBe(false);
    expect(run(shipped, cancel(itemA)).handled).toBe(false);
  });

  test("with automatic delivery the shipped state has a deadline, and its timeout delivers", () => {
    const s0 = startSaga({ ...start().context, at: 0, autoDeliverAfterMs: 60_000 });
    const shipped = run(s0, reserved, approved, { ...ship, at: 100 });
    expect(shipped.context.deadlineAt).toBe(60_100);
    expect(run(shipped, timeout(60_000)).handled).toBe(false);
    const delivered = run(shipped, timeout(60_100));
    expect(delivered.state).toBe("delivered");
    expect(delivered.context.deadlineAt).toBeUndefined();
  });

  test("without automatic delivery a timeout leaves a shipped order alone", () => {
    const shipped = run(start(), reserved, approved, ship);
    expect(run(shipped, timeout(Number.MAX_SAFE_INTEGER)).handled).toBe(false);
  });
});
