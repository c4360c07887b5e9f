// A flash-sale purchase's decisions, pure: what is refused before the gate is asked, and what the gate's answer
// (with the coupon held) means for the buyer and for the saga. The handler (routes.ts) does the I/O around them.
import type { z } from "zod";
import type { Sale } from "../../db";
import type { PurchaseResult } from "../../domain/sale";
import { type Data, fitsAmount, MAX_AMOUNT } from "../../nats";
import { type Discount, discountOf } from "../coupons";
import type { Code } from "../errors";
import { ended } from "./board";
import type { purchase } from "./routes";

export type PurchaseInput = z.infer<typeof purchase>;
export type Refusal = { ok: false; code: Code; detail: string; soldOut?: boolean };

/** Refused before the gate is asked: an unkeyed purchase of an ended sale, more than a shopper may buy, too large an amount. */
export function refusePurchase(s: Sale, input: PurchaseInput, keyed: boolean, now = Date.now()): Refusal | undefined {
  // (a keyed request may be a replay of a purchase made before the end: the gate answers that one)
  if (!keyed && ended(s, now)) return { ok: false, code: "ENDED", detail: "the sale has ended" };
  if (input.quantity > s.perUserLimit)
    return { ok: false, code: "LIMIT_REACHED", detail: `at most ${s.perUserLimit} per shopper` };
  const subtotal = s.price * input.quantity;
  if (!fitsAmount(subtotal))
    return {
      ok: false,
      code: "VALIDATION_FAILED",
      detail: `the purchase's amount ${subtotal} is over ${MAX_AMOUNT}, the most an order can hold`,
    };
  return undefined;
}

export type Accepted = {
  ok: true;
  orderId: string;
  replayed: boolean;
  position?: number;
  /** The last unit went: every edge process should know before anyone is told SOLD_OUT. */
  soldOut: boolean;
  /** The order to publish; none when a replay's coupon was used by the first answer's order (it was placed). */
  place?: Data<"orders.cmd.place">;
  /** The time by which `place` must be acked, or the purchase is not answered (the gate's placement window). */
  placeBy?: number;
};

/**
 * What the gate's answer means. `coupon`: the discount of the coupon the shopper holds, `undefined` without
 * one, `null` when a replay's coupon is already used (by that very order).
 */
export function decidePurchase(p: {
  sale: Sale;
  userId: string;
  input: PurchaseInput;
  idempotency?: { key: string; requestHash: string };
  result: PurchaseResult;
  coupon: Discount | null | undefined;
}): Refusal | Accepted {
  const { sale: s, input, result: r } = p;
  if (!r.ok) {
    if (r.code === "MISSING" || r.code === "NONE")
      return {
        ok: false,
        code: "UPSTREAM_UNAVAILABLE",
        detail: "the sale's counters are being rebuilt; retry in a moment",
      };
    if (r.code === "BUSY")
      return { ok: false, code: "UPSTREAM_UNAVAILABLE", detail: "this purchase is being checked; retry in a moment" };
    const detail = {
      SOLD_OUT: "this sale is sold out",
      LIMIT_REACHED: `at most ${s.perUserLimit} per shopper`,
      NOT_STARTED: `the sale starts at ${s.startsAt.toISOString()}`,
      ENDED: "the sale has ended",
      IDEMPOTENCY_KEY_REUSED: "this Idempotency-Key was used with a different request",
    }[r.code];
    // fewer units than asked: none left only when one was asked
    return { ok: false, code: r.code, detail, soldOut: r.code === "SOLD_OUT" && input.quantity === 1 };
  }
  const subtotal = s.price * input.quantity;
  const discount = p.coupon ? discountOf(p.coupon, subtotal) : 0;
  const place: Data<"orders.cmd.place"> | undefined =
    p.coupon === null
      ? undefined
      : {
          orderId: r.orderId,
          userId: p.userId,
          items: [{ itemId: r.itemId, productId: s.productId, quantity: input.quantity, price: s.price }],
          total: subtotal - discount,
          discount,
          ...(input.couponId ? { couponId: input.couponId } : {}),
          saleId: s.id,
          paymentMethod: input.paymentMethod,
          ...(p.idempotency ? { idempotency: p.idempotency } : {}),
        };
  const placeBy = r.placeBy;
  return r.replayed
    ? { ok: true, orderId: r.orderId, replayed: true, soldOut: false, place, placeBy }
    : {
        ok: true,
        orderId: r.orderId,
        replayed: false,
        position: r.position,
        soldOut: r.remaining <= 0,
        place,
        placeBy,
      };
}
