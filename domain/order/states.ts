// The order's statuses and the saga's states, as the machine (machine.ts) knows them; the database enum, the
// HTTP schemas and the audit read them from here.

export const ORDER_STATUSES = ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
/** A sale made: the order was paid and not cancelled since (what the audit, the console and the ranking count). */
export const SOLD_STATUSES = ["CONFIRMED", "SHIPPED", "DELIVERED"] as const satisfies readonly OrderStatus[];

/** The saga's states (machine.ts's `states`, checked by machine.test.ts); `placing` is passed through at once, never stored. */
export const SAGA_STATES = [
  "placing",
  "reservingStock",
  "redeemingCoupon",
  "charging",
  "confirmed",
  "shipped",
  "delivered",
  "compensating",
  "cancelled",
] as const;
export type SagaState = (typeof SAGA_STATES)[number];

/** States that wait on people or are over; every other state is a step in flight that should end by itself. */
export const RESTING_STATES = [
  "confirmed",
  "shipped",
  "delivered",
  "cancelled",
] as const satisfies readonly SagaState[];
