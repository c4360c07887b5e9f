// Coupons and the claims shoppers hold. A claim is decided in Redis first and recorded here
// asynchronously; the unique (user, coupon) pair makes a replayed claim a no-op.
import { sql } from "drizzle-orm";
import { check, index, integer, pgSchema, text, unique, uuid } from "drizzle-orm/pg-core";
import { at, createdAt, id, updatedAt } from "./columns";

export const coupon = pgSchema("coupon");
export const discountType = coupon.enum("discount_type", ["amount", "percent"]);
export const userCouponStatus = coupon.enum("user_coupon_status", ["AVAILABLE", "USED"]);

export const coupons = coupon.table(
  "coupons",
  {
    id: id(),
    name: text("name").notNull(),
    discountType: discountType("discount_type").notNull(),
    discountValue: integer("discount_value").notNull(),
    /** How many shoppers can claim it, first come first served. */
    quantity: integer("quantity").notNull(),
    startsAt: at("starts_at").notNull(),
    endsAt: at("ends_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    check("coupons_quantity_positive", sql`${t.quantity} > 0`),
    check("coupons_window", sql`${t.endsAt} > ${t.startsAt}`),
    check(
      "coupons_discount",
      sql`${t.discountValue} > 0 and (${t.discountType} = 'amount' or ${t.discountValue} <= 100)`,
    ),
    index("coupons_ends_idx").on(t.endsAt),
  ],
);

/** One row per claim won; `orderId` is the order that used it while it is USED. */
export const userCoupons = coupon.table(
  "user_coupons",
  {
    id: uuid("id").primaryKey(),
    couponId: uuid("coupon_id")
      .notNull()
      .references(() => coupons.id),
    userId: uuid("user_id").notNull(),
    status: userCouponStatus("status").notNull().default("AVAILABLE"),
    orderId: uuid("order_id"),
    claimedAt: at("claimed_at").notNull(),
    usedAt: at("used_at"),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("user_coupons_user_coupon_key").on(t.userId, t.couponId),
    index("user_coupons_coupon_idx").on(t.couponId),
  ],
);

export type Coupon = typeof coupons.$inferSelect;
export type UserCoupon = typeof userCoupons.$inferSelect;
