// Every message the system exchanges: subject, zod schema and inferred type, declared once.
import { z } from "zod";

const uuid = z.string().uuid();

/** The largest amount the money columns (int4: prices, totals, payments, refunds) hold. */
export const MAX_AMOUNT = 2_147_483_647;
/** Whether an amount (a price times a quantity, a total) can be written; checked before anything is decided. */
export const fitsAmount = (n: number) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_AMOUNT;
const money = z.number().int().nonnegative().max(MAX_AMOUNT);

export const paymentMethod = z.enum(["card_ok", "card_declined", "card_no_answer"]);
export type PaymentMethod = z.infer<typeof paymentMethod>;

export const cancelReason = z.enum([
  "OUT_OF_STOCK",
  "PAYMENT_DECLINED",
  "PAYMENT_TIMEOUT",
  "COUPON_INVALID",
  "CANCELLED_BY_USER",
  /** A flash-sale purchase past the shopper's limit, admitted by a gate that had forgotten earlier ones. */
  "LIMIT_REACHED",
  /** A flash-sale purchase whose Idempotency-Key already has its order (a failed-over gate forgot the key). */
  "DUPLICATE_PURCHASE",
]);
export type CancelReason = z.infer<typeof cancelReason>;

const lineItem = z
  .object({ itemId: uuid, productId: uuid, quantity: z.number().int().positive(), price: money })
  .refine((i) => fitsAmount(i.price * i.quantity), "price x quantity is past the money columns' limit");
export type LineItem = z.infer<typeof lineItem>;

export const contracts = {
  // commands to the order saga
  "orders.cmd.place": z.object({
    orderId: uuid,
    userId: uuid,
    items: z.array(lineItem).min(1),
    total: money,
    discount: money,
    couponId: uuid.optional(),
    /** Set for flash-sale purchases: units come from the sale's allocation, and go back to its gate. */
    saleId: uuid.optional(),
    paymentMethod,
    /** A keyed flash-sale purchase: kept with the order, so the gate answers retries even after Redis lost it. */
    idempotency: z.object({ key: z.string().min(1).max(255), requestHash: z.string().min(1).max(100) }).optional(),
  }),
  "orders.cmd.cancel": z.object({ orderId: uuid, itemId: uuid.optional() }),
  /** Sent by the deadline sweeper; the saga acts on it only once its own deadline has passed. */
  "orders.cmd.timeout": z.object({ orderId: uuid }),
  /** A seller (or an admin) handed a confirmed order to the carrier, then saw it delivered. */
  "orders.cmd.ship": z.object({ orderId: uuid }),
  "orders.cmd.deliver": z.object({ orderId: uuid }),
  // facts the saga publishes
  "orders.evt.confirmed": z.object({ orderId: uuid, userId: uuid, total: money }),
  "orders.evt.cancelled": z.object({ orderId: uuid, userId: uuid, reason: cancelReason }),
  // inventory
  "inventory.cmd.reserve": z.object({ orderId: uuid, items: z.array(lineItem).min(1), saleId: uuid.optional() }),
  "inventory.cmd.release": z.object({ orderId: uuid, itemIds: z.array(uuid).optional() }),
  "inventory.evt.reserved": z.object({ orderId: uuid }),
  "inventory.evt.rejected": z.object({ orderId: uuid, reason: z.literal("OUT_OF_STOCK") }),
  "inventory.evt.released": z.object({ orderId: uuid, itemIds: z.array(uuid), saleId: uuid.optional() }),
  // payment
  "payments.cmd.charge": z.object({ orderId: uuid, amount: money, method: paymentMethod }),
  "payments.cmd.settle": z.object({ orderId: uuid, gatewayPaymentId: z.string(), approved: z.boolean() }),
  "payments.cmd.refund": z.object({ orderId: uuid, amount: money, key: z.string() }),
  "payments.evt.approved": z.object({ orderId: uuid, amount: money }),
  "payments.evt.declined": z.object({ orderId: uuid }),
  "payments.evt.refunded": z.object({ orderId: uuid, amount: money, key: z.string() }),
  // coupons
  /** A claim the edge's Redis script already granted; the coupon actor records it and never refuses it. */
  "coupons.cmd.claim": z.object({ userCouponId: uuid, couponId: uuid, userId: uuid, claimedAt: z.iso.datetime() }),
  "coupons.cmd.redeem": z.object({ orderId: uuid, userId: uuid, couponId: uuid }),
  /** Compensation of redeem: the coupon this order used is AVAILABLE again. */
  "coupons.cmd.restore": z.object({ orderId: uuid, userId: uuid, couponId: uuid }),
  "coupons.evt.redeemed": z.object({ orderId: uuid, userCouponId: uuid }),
  "coupons.evt.rejected": z.object({ orderId: uuid, reason: z.literal("COUPON_INVALID") }),
  "coupons.evt.restored": z.object({ orderId: uuid, couponId: uuid }),
  // catalog: a shopper liked a product, or took the like back (each published once per change of state)
  "catalog.evt.liked": z.object({ productId: uuid, userId: uuid }),
  "catalog.evt.unliked": z.object({ productId: uuid, userId: uuid }),
} as const;

export type Subject = keyof typeof contracts;
export type Data<S extends Subject> = z.infer<(typeof contracts)[S]>;
/** A message as the saga sees it: its subject as the event type, its data beside. */
export type Message<S extends Subject = Subject> = { [K in S]: { type: K; data: Data<K> } }[S];

export function isSubject(s: string): s is Subject {
  return Object.hasOwn(contracts, s);
}
