// What a coupon takes off an order's amount: never more than the amount, never a fraction of a won.
import type { Coupon } from "../../db";

export type Discount = { type: Coupon["discountType"]; value: number };

export function discountOf(d: Discount, amount: number): number {
  if (d.type === "amount") return Math.min(d.value, amount);
  return Math.floor((amount * d.value) / 100);
}
