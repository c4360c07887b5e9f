// Coupons: an admin creates them; shoppers claim them first come, first served. A claim is decided by one
// Redis script (domain/coupon/claims.ts) and answered at once; it reaches Postgres through JetStream and
// the coupon actor, and a claim whose publish never happened is republished by the actor's reconciler.
import { desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { type Coupon, coupons, userCoupons } from "../../db";
import { type ClaimOutcome, claimCoupon, markPublished, primeCoupon, publishClaim } from "../../domain/coupon";
import { uuidv7 } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { idempotencyKey, idempotent } from "../idempotency";
import { caller, requireRole } from "../middleware/auth";
import { verifiedEmailGate } from "../middleware/verified-email";
import { openapi } from "../openapi";
import { idParam } from "../validate";
import { couponListRoutes } from "./list";
import * as s from "./schemas";

export { createCoupon } from "./schemas";

const idempotencyHeader = {
  "Idempotency-Key": {
    description:
      "The same key answers the same way again (24 h for creations; for a claim, as long as the coupon lives).",
  },
};

const publicCoupon = (c: Coupon) => ({
  id: c.id,
  name: c.name,
  discount: { type: c.discountType, value: c.discountValue },
  quantity: c.quantity,
  startsAt: c.startsAt,
  endsAt: c.endsAt,
  createdAt: c.createdAt,
});

export function couponRoutes(d: Deps) {
  const app = new Hono<Env>();
  const verified = verifiedEmailGate(d);
  const graceS = d.config.COUPON_KEY_GRACE_S;
  app.route("/", couponListRoutes(d));

  app.post(
    "/v1/coupons",
    requireRole("admin"),
    openapi({
      summary: "Create a first-come-first-served coupon",
      body: s.createCoupon,
      responses: { 201: s.coupon },
      headers: idempotencyHeader,
    }),
    async (c) => {
      const user = caller(c);
      const input = c.req.valid("json");
      let created: Coupon | undefined;
      const answer = await idempotent(
        d.db,
        { userId: user.sub, key: c.req.header("idempotency-key"), scope: "POST /v1/coupons", request: input },
        async (tx) => {
          [created] = await tx
            .insert(coupons)
            .values({
              id: uuidv7(),
              name: input.name,
              discountType: input.discount.type,
              discountValue: input.discount.value,
              quantity: input.quantity,
              startsAt: new Date(input.startsAt),
              endsAt: new Date(input.endsAt),
            })
            .returning();
          return { status: 201, body: publicCoupon(created!) };
        },
      );
      // ready for the rush; if Redis misses this, the first claim primes it from Postgres
      if (created)
        await primeCoupon(d.redis, created, [], graceS).catch((err) => c.get("log").warn("coupon not primed", { err }));
      if (answer.replayed) c.header("Idempotent-Replayed", "true");
      return c.json(answer.body, answer.status);
    },
  );

  /** The Redis decision; primes the coupon from Postgres when Redis does not know it. */
  async function decide(couponId: string, userId: string, key: string | undefined): Promise<ClaimOutcome> {
    const attempt = () => claimCoupon(d.redis, { couponId, userId, userCouponId: uuidv7(), idempotencyKey: key });
    const first = await attempt();
    if (first.outcome !== "UNKNOWN") return first;
    const [row] = await d.db.select().from(coupons).where(eq(coupons.id, couponId));
    if (!row) throw new AppError("NOT_FOUND", "no such coupon");
    if (row.endsAt <= new Date()) return { outcome: "NOT_ACTIVE" };
    const persisted = await d.db
      .select({ userId: userCoupons.userId, userCouponId: userCoupons.id, claimedAt: userCoupons.claimedAt })
      .from(userCoupons)
      .where(eq(userCoupons.couponId, couponId));
    await primeCoupon(d.redis, row, persisted, graceS);
    const again = await attempt();
    return again.outcome === "UNKNOWN" ? { outcome: "NOT_ACTIVE" } : again;
  }

  app.post(
    "/v1/coupons/:id/claim",
    requireRole("shopper"),
    verified,
    openapi({
      summary: "Claim a coupon, first come first served",
      description:
        "Decided at once in Redis: within the coupon's window, once per shopper, up to its quantity. The claim is recorded asynchronously and shows in GET /v1/me/coupons within a second.",
      responses: { 201: s.claimed },
      errors: [
        "SOLD_OUT",
        "ALREADY_CLAIMED",
        "NOT_ACTIVE",
        "VALIDATION_FAILED",
        "UPSTREAM_UNAVAILABLE",
        "EMAIL_NOT_VERIFIED",
      ],
      headers: idempotencyHeader,
    }),
    async (c) => {
      const couponId = idParam(c);
      const userId = caller(c).sub;
      const key = idempotencyKey(c);
      let r: ClaimOutcome;
      try {
        r = await decide(couponId, userId, key);
      } catch (err) {
        if (err instanceof AppError) throw err;
        c.get("log").warn("coupon claim: redis unavailable", { err });
        throw new AppError("UPSTREAM_UNAVAILABLE", "coupons cannot be claimed right now; retry shortly");
      }
      if (r.outcome === "OK") {
        // answered without waiting for JetStream: the script already put the claim in Redis's unpublished set,
        // so if this publish fails or this process dies first, the coupon actor's reconciler publishes it
        const log = c.get("log");
        publishClaim(d.bus.js, r.claim, c.get("traceparent"))
          .then(() => markPublished(d.redis, couponId, [userId]))
          .catch((err) => log.warn("claim publish deferred to the reconciler", { err, couponId }));
        return c.json({ userCouponId: r.claim.userCouponId }, 201);
      }
      if (r.outcome === "ALREADY_CLAIMED") {
        if (key && r.claim.idempotencyKey === key) {
          c.header("Idempotent-Replayed", "true");
          return c.json({ userCouponId: r.claim.userCouponId }, 201);
        }
        throw new AppError("ALREADY_CLAIMED", "you already hold this coupon", { userCouponId: r.claim.userCouponId });
      }
      if (r.outcome === "SOLD_OUT") throw new AppError("SOLD_OUT", "every coupon of this kind is claimed");
      throw new AppError("NOT_ACTIVE", "this coupon cannot be claimed now");
    },
  );

  app.get(
    "/v1/me/coupons",
    requireRole("shopper"),
    openapi({ summary: "The coupons the caller holds", tags: ["coupons"], responses: { 200: s.myCoupons } }),
    async (c) => {
      const rows = await d.db
        .select({ uc: userCoupons, name: coupons.name, type: coupons.discountType, value: coupons.discountValue })
        .from(userCoupons)
        .innerJoin(coupons, eq(coupons.id, userCoupons.couponId))
        .where(eq(userCoupons.userId, caller(c).sub))
        .orderBy(desc(userCoupons.claimedAt));
      const items = rows.map(({ uc, name, type, value }) => ({
        userCouponId: uc.id,
        couponId: uc.couponId,
        name,
        discount: { type, value },
        status: uc.status,
        claimedAt: uc.claimedAt,
        ...(uc.usedAt ? { usedAt: uc.usedAt } : {}),
      }));
      return c.json({ items });
    },
  );

  return app;
}
