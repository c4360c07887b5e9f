// The order saga: pure, it only decides. Commands leave as emitted events whose type is their subject;
// the worker persists the snapshot and turns each emitted command into an outbox row.
import { assign, emit, enqueueActions, setup } from "xstate";
import type { CancelReason, Data, LineItem, Message, PaymentMethod, Subject } from "../../nats";
import { itemRefund } from "./refund-share";
import type { OrderStatus } from "./states";

export type SagaInput = Data<"orders.cmd.place"> & {
  at: number;
  paymentDeadlineMs: number;
  autoDeliverAfterMs?: number;
  /** A flash-sale placement Postgres refuses (actors/order/sale-backing.ts): the order is cancelled before any step. */
  refused?: "LIMIT_REACHED" | "OUT_OF_STOCK" | "DUPLICATE_PURCHASE";
};

export type SagaContext = {
  orderId: string;
  userId: string;
  items: (LineItem & { cancelled?: boolean })[];
  total: number;
  discount: number;
  couponId?: string;
  saleId?: string;
  paymentMethod: PaymentMethod;
  paymentDeadlineMs: number;
  /** When set, a shipped order counts as delivered this long after shipping (the deadline of `shipped`). */
  autoDeliverAfterMs?: number;
  deadlineAt?: number;
  stockReserved: boolean;
  /** The order's coupon is used and not given back yet. */
  couponRedeemed: boolean;
  charged: number;
  refunded: number;
  /** Keys of compensations sent and not yet answered. */
  awaiting: string[];
  cancelRequested: boolean;
  status: OrderStatus;
  reason?: CancelReason;
};

/** Every event carries the time the worker saw it, so deadlines stay plain data. */
export type SagaEvent = Message & { at: number };
export type Command = { [S in Subject]: { type: S; data: Data<S> } }[Subject];

const active = (c: SagaContext) => c.items.filter((i) => !i.cancelled);
const cancelledItem = (e: SagaEvent) => (e.type === "orders.cmd.cancel" ? e.data.itemId : undefined);
const refundKey = (c: SagaContext) => `order:${c.orderId}`;
const releaseKey = (itemIds: string[]) => `release:${[...itemIds].sort().join(",")}`;
const restoreKey = (c: SagaContext) => `coupon:${c.couponId}`;

export const orderSaga = setup({
  types: { context: {} as SagaContext, input: {} as SagaInput, events: {} as SagaEvent, emitted: {} as Command },
  guards: {
    cancelRequested: ({ context }) => context.cancelRequested,
    pastDeadline: ({ context, event }) => context.deadlineAt !== undefined && event.at >= context.deadlineAt,
    /** A cancel of the whole order, or of its last active item. */
    cancelsAll: ({ context, event }) => {
      const itemId = cancelledItem(event);
      return !itemId || active(context).every((i) => i.itemId === itemId);
    },
    cancelsOneItem: ({ context, event }) => active(context).some((i) => i.itemId === cancelledItem(event)),
    settled: ({ context }) => context.awaiting.length === 0,
    usesCoupon: ({ context }) => context.couponId !== undefined,
    refused: ({ context }) => context.reason !== undefined,
  },
  actions: {
    /** Step: every item's units reserved, or none. */
    reserveStock: emit(({ context }) => ({
      type: "inventory.cmd.reserve" as const,
      data: { orderId: context.orderId, items: context.items, ...(context.saleId ? { saleId: context.saleId } : {}) },
    })),
    /** Its compensation: the active items' units back, if they were reserved (released once per item). */
    releaseStock: enqueueActions(({ context, enqueue }) => {
      const items = active(context);
      if (!context.stockReserved || !items.length) return;
      enqueue.emit({
        type: "inventory.cmd.release",
        data: { orderId: context.orderId, itemIds: items.map((i) => i.itemId) },
      });
      enqueue.assign({ awaiting: [...context.awaiting, releaseKey(items.map((i) => i.itemId))] });
    }),
    /** Step: the total charged (the order id is the gateway's idempotency key), before the payment deadline. */
    charge: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ deadlineAt: event.at + context.paymentDeadlineMs });
      enqueue.emit({
        type: "payments.cmd.charge",
        data: { orderId: context.orderId, amount: context.total, method: context.paymentMethod },
      });
    }),
    /** Its compensation: what was charged and not refunded yet goes back (one refund key per order); no deadline left. */
    refundCharge: enqueueActions(({ context, enqueue }) => {
      const refund = context.charged - context.refunded;
      enqueue.assign({ deadlineAt: undefined, refunded: context.refunded + Math.max(refund, 0) });
      if (refund <= 0) return;
      enqueue.emit({
        type: "payments.cmd.refund",
        data: { orderId: context.orderId, amount: refund, key: refundKey(context) },
      });
      enqueue.assign({ awaiting: [...context.awaiting, refundKey(context)] });
    }),
    confirm: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ status: "CONFIRMED", deadlineAt: undefined });
      enqueue.emit({
        type: "orders.evt.confirmed",
        data: { orderId: context.orderId, userId: context.userId, total: context.total },
      });
    }),
    ship: assign({
      status: "SHIPPED" as const,
      deadlineAt: ({ context, event }) =>
        context.autoDeliverAfterMs ? event.at + context.autoDeliverAfterMs : undefined,
    }),
    deliver: assign({ status: "DELIVERED" as const, deadlineAt: undefined }),
    requestCancel: assign({ cancelRequested: true }),
    /** Step: the shopper's claim of the coupon becomes USED by this order, or the coupon actor rejects it. */
    redeemCoupon: emit(({ context }) => ({
      type: "coupons.cmd.redeem" as const,
      data: { orderId: context.orderId, userId: context.userId, couponId: context.couponId! },
    })),
    /** Its compensation: the coupon is AVAILABLE again (the actor restores it only from this order: idempotent). */
    restoreCoupon: enqueueActions(({ context, enqueue }) => {
      if (!context.couponRedeemed || !context.couponId) return;
      enqueue.emit({
        type: "coupons.cmd.restore",
        data: { orderId: context.orderId, userId: context.userId, couponId: context.couponId },
      });
      enqueue.assign({ awaiting: [...context.awaiting, restoreKey(context)], couponRedeemed: false });
    }),
    fail: assign({ reason: (_, reason: CancelReason) => reason }),
    /** Partial cancel: that item's stock back and its share of the charge refunded; the order stays confirmed. */
    cancelItem: enqueueActions(({ context, event, enqueue }) => {
      const item = active(context).find((i) => i.itemId === cancelledItem(event));
      if (!item) return;
      const refund = itemRefund(context.items, item.itemId, context.charged, context.refunded);
      enqueue.emit({ type: "inventory.cmd.release", data: { orderId: context.orderId, itemIds: [item.itemId] } });
      if (refund > 0)
        enqueue.emit({
          type: "payments.cmd.refund",
          data: { orderId: context.orderId, amount: refund, key: `item:${item.itemId}` },
        });
      enqueue.assign({
        items: context.items.map((i) => (i.itemId === item.itemId ? { ...i, cancelled: true } : i)),
        refunded: context.refunded + refund,
      });
    }),
    /** A payment approved after the order was given up: give the money back. */
    refundLateCharge: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "payments.evt.approved") return;
      enqueue.emit({
        type: "payments.cmd.refund",
        data: { orderId: context.orderId, amount: event.data.amount, key: `late:${context.orderId}` },
      });
    }),
    cancelled: enqueueActions(({ context, enqueue }) => {
      const reason = context.reason ?? "CANCELLED_BY_USER";
      enqueue.assign({ status: "CANCELLED", reason });
      enqueue.emit({
        type: "orders.evt.cancelled",
        data: { orderId: context.orderId, userId: context.userId, reason },
      });
    }),
  },
}).createMachine({
  id: "order",
  context: ({ input }) => ({
    orderId: input.orderId,
    userId: input.userId,
    items: input.items,
    total: input.total,
    discount: input.discount,
    couponId: input.couponId,
    saleId: input.saleId,
    paymentMethod: input.paymentMethod,
    paymentDeadlineMs: input.paymentDeadlineMs,
    autoDeliverAfterMs: input.autoDeliverAfterMs,
    stockReserved: false,
    couponRedeemed: false,
    charged: 0,
    refunded: 0,
    awaiting: [],
    cancelRequested: false,
    status: "PENDING",
    reason: input.refused,
  }),
  initial: "placing",
  states: {
    /** Refused at placement (nothing was taken, nothing to give back), or on to the first step. */
    placing: {
      always: [{ guard: "refused", target: "cancelled" }, { target: "reservingStock" }],
    },
    reservingStock: {
      entry: "reserveStock",
      on: {
        "inventory.evt.reserved": [
          {
            guard: "cancelRequested",
            target: "compensating",
            actions: [assign({ stockReserved: true }), { type: "fail", params: "CANCELLED_BY_USER" }],
          },
          { guard: "usesCoupon", target: "redeemingCoupon", actions: assign({ stockReserved: true }) },
          { target: "charging", actions: assign({ stockReserved: true }) },
        ],
        "inventory.evt.rejected": {
          target: "cancelled",
          actions: assign({
            reason: ({ context }) => (context.cancelRequested ? "CANCELLED_BY_USER" : "OUT_OF_STOCK"),
          }),
        },
        "orders.cmd.cancel": { guard: "cancelsAll", actions: "requestCancel" },
      },
    },
    /** Only for an order with a coupon: after the stock is taken, before the money. */
    redeemingCoupon: {
      entry: "redeemCoupon",
      on: {
        "coupons.evt.redeemed": [
          {
            guard: "cancelRequested",
            target: "compensating",
            actions: [assign({ couponRedeemed: true }), { type: "fail", params: "CANCELLED_BY_USER" }],
          },
          { target: "charging", actions: assign({ couponRedeemed: true }) },
        ],
        "coupons.evt.rejected": {
          target: "compensating",
          actions: assign({
            reason: ({ context }) => (context.cancelRequested ? "CANCELLED_BY_USER" : "COUPON_INVALID"),
          }),
        },
        "orders.cmd.cancel": { guard: "cancelsAll", actions: "requestCancel" },
      },
    },
    charging: {
      entry: "charge",
      on: {
        "payments.evt.approved": {
          target: "confirmed",
          actions: assign({ charged: ({ event }) => event.data.amount }),
        },
        "payments.evt.declined": { target: "compensating", actions: { type: "fail", params: "PAYMENT_DECLINED" } },
        "orders.cmd.timeout": {
          guard: "pastDeadline",
          target: "compensating",
          actions: { type: "fail", params: "PAYMENT_TIMEOUT" },
        },
        "orders.cmd.cancel": {
          guard: "cancelsAll",
          target: "compensating",
          actions: { type: "fail", params: "CANCELLED_BY_USER" },
        },
      },
    },
    confirmed: {
      entry: "confirm",
      on: {
        "orders.cmd.cancel": [
          { guard: "cancelsAll", target: "compensating", actions: { type: "fail", params: "CANCELLED_BY_USER" } },
          { guard: "cancelsOneItem", actions: "cancelItem" },
        ],
        "orders.cmd.ship": { target: "shipped" },
      },
    },
    /** Handed to the carrier: no cancel any more. Its deadline, when set, is the automatic delivery. */
    shipped: {
      entry: "ship",
      on: {
        "orders.cmd.deliver": { target: "delivered" },
        "orders.cmd.timeout": { guard: "pastDeadline", target: "delivered" },
      },
    },
    delivered: { entry: "deliver" },
    compensating: {
      entry: ["releaseStock", "refundCharge", "restoreCoupon"],
      always: { guard: "settled", target: "cancelled" },
      on: {
        "inventory.evt.released": {
          actions: assign({
            awaiting: ({ context, event }) => context.awaiting.filter((a) => a !== releaseKey(event.data.itemIds)),
          }),
        },
        "payments.evt.refunded": {
          actions: assign({ awaiting: ({ context, event }) => context.awaiting.filter((a) => a !== event.data.key) }),
        },
        "coupons.evt.restored": {
          actions: assign({ awaiting: ({ context }) => context.awaiting.filter((a) => a !== restoreKey(context)) }),
        },
        "payments.evt.approved": { actions: "refundLateCharge" },
      },
    },
    cancelled: {
      entry: "cancelled",
      on: { "payments.evt.approved": { actions: "refundLateCharge" } },
    },
  },
});
