// The coupon an order asks for: the shopper must hold an AVAILABLE claim of it. The saga's redemption is
// what really takes it (two orders racing for one coupon: the second is cancelled as COUPON_INVALID).
import { and, eq } from "drizzle-orm";
import { coupons, type Db, userCoupons } from "../../db";
import { AppError } from "../errors";
import type { Discount } from "./discount";

export async function heldCoupon(db: Db, userId: string, couponId: string): Promise<Discount> {
  const [row] = await db
    .select({ status: userCoupons.status, type: coupons.discountType, value: coupons.discountValue })
    .from(userCoupons)
    .innerJoin(coupons, eq(coupons.id, userCoupons.couponId))
    .where(and(eq(userCoupons.userId, userId), eq(userCoupons.couponId, couponId)));
  if (!row) throw new AppError("NOT_FOUND", "you hold no such coupon");
  if (row.status !== "AVAILABLE")
    throw new AppError("VALIDATION_FAILED", "this coupon is already used", {
      errors: [{ path: "couponId", message: "already used" }],
    });
  return { type: row.type, value: row.value };
}
