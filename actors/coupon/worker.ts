// The coupon actor: records claims the edge granted, redeems a claim for an order with one conditional
// update (only an AVAILABLE coupon of that user), and restores it when the order is given up.
import { and, eq, sql } from "drizzle-orm";
import { type Tx, userCoupons } from "../../db";
import type { Data, Outgoing } from "../../nats";
import type { BatchHandler, Incoming } from "../lib/worker";

export const couponHandler: BatchHandler = async (tx, batch) => {
  // claims first: a redemption later in the same batch may need the claim it uses
  await recordClaims(
    tx,
    batch.filter((b) => b.env.type === "coupons.cmd.claim").map((b) => b.env.data as Data<"coupons.cmd.claim">),
  );
  const out: { msg: Outgoing; cause: Incoming }[] = [];
  for (const inc of batch) {
    const { env } = inc;
    if (env.type === "coupons.cmd.redeem")
      out.push({ msg: await redeem(tx, env.data as Data<"coupons.cmd.redeem">), cause: inc });
    if (env.type === "coupons.cmd.restore")
      out.push({ msg: await restore(tx, env.data as Data<"coupons.cmd.restore">), cause: inc });
  }
  return out;
};

/** The unique (user, coupon) pair and the claim id make a claim published twice a no-op. */
async function recordClaims(tx: Tx, claims: Data<"coupons.cmd.claim">[]) {
  if (!claims.length) return;
  await tx
    .insert(userCoupons)
    .values(
      claims.map((c) => ({
        id: c.userCouponId,
        couponId: c.couponId,
        userId: c.userId,
        claimedAt: new Date(c.claimedAt),
      })),
    )
    .onConflictDoNothing();
}

async function redeem(tx: Tx, r: Data<"coupons.cmd.redeem">): Promise<Outgoing> {
  const [used] = await tx
    .update(userCoupons)
    .set({ status: "USED", orderId: r.orderId, usedAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      and(eq(userCoupons.userId, r.userId), eq(userCoupons.couponId, r.couponId), eq(userCoupons.status, "AVAILABLE")),
    )
    .returning({ id: userCoupons.id });
  if (used) return { type: "coupons.evt.redeemed", data: { orderId: r.orderId, userCouponId: used.id } };
  // the same order's redemption arriving again (another message id) finds its own use: still redeemed
  const [mine] = await tx
    .select({ id: userCoupons.id })
    .from(userCoupons)
    .where(
      and(eq(userCoupons.userId, r.userId), eq(userCoupons.couponId, r.couponId), eq(userCoupons.orderId, r.orderId)),
    );
  if (mine) return { type: "coupons.evt.redeemed", data: { orderId: r.orderId, userCouponId: mine.id } };
  return { type: "coupons.evt.rejected", data: { orderId: r.orderId, reason: "COUPON_INVALID" } };
}

/** Compensation of redeem: gives the coupon back only if this order holds it, so a repeat changes nothing. */
async function restore(tx: Tx, r: Data<"coupons.cmd.restore">): Promise<Outgoing> {
  await tx
    .update(userCoupons)
    .set({ status: "AVAILABLE", orderId: null, usedAt: null, updatedAt: sql`now()` })
    .where(
      and(
        eq(userCoupons.userId, r.userId),
        eq(userCoupons.couponId, r.couponId),
        eq(userCoupons.orderId, r.orderId),
        eq(userCoupons.status, "USED"),
      ),
    );
  return { type: "coupons.evt.restored", data: { orderId: r.orderId, couponId: r.couponId } };
}
