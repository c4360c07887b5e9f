// What the coupon routes accept and answer; the same schemas validate requests and feed /openapi.json.
import { z } from "zod";
import { text } from "../validate";

export const discount = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("amount"), value: z.number().int().min(1).max(1_000_000_000).describe("KRW off") }),
    z.object({
      type: z.literal("percent"),
      value: z.number().int().min(1).max(100).describe("% off, rounded down to the won"),
    }),
  ])
  .meta({ id: "Discount" });

export const createCoupon = z
  .object({
    name: text().trim().min(1).max(200),
    discount,
    quantity: z.number().int().min(1).max(1_000_000).describe("how many shoppers can claim it"),
    startsAt: z.iso.datetime({ offset: true }),
    endsAt: z.iso.datetime({ offset: true }),
  })
  .refine((c) => Date.parse(c.endsAt) > Date.parse(c.startsAt), {
    message: "endsAt must be after startsAt",
    path: ["endsAt"],
  })
  .refine((c) => Date.parse(c.endsAt) > Date.now(), { message: "endsAt must be in the future", path: ["endsAt"] });

export const coupon = z
  .object({
    id: z.uuid(),
    name: z.string(),
    discount,
    quantity: z.number().int(),
    startsAt: z.iso.datetime(),
    endsAt: z.iso.datetime(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "Coupon" });

export const claimed = z.object({ userCouponId: z.uuid() });

export const myCoupons = z.object({
  items: z.array(
    z.object({
      userCouponId: z.uuid(),
      couponId: z.uuid(),
      name: z.string(),
      discount,
      status: z.enum(["AVAILABLE", "USED"]),
      claimedAt: z.iso.datetime(),
      usedAt: z.iso.datetime().optional(),
    }),
  ),
});
