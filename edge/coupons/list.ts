// GET /v1/coupons: coupons that can be claimed now or will be, soonest first, with the claims left. Claims
// are counted where they are decided, in Redis, when it holds the coupon; otherwise from Postgres (claims
// recorded so far).
import { and, asc, count, gt, inArray, lte, or, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { coupons, userCoupons } from "../../db";
import { couponKeys } from "../../domain/coupon";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { openapi } from "../openapi";
import { DEFAULT_PAGE, MAX_PAGE, page, statusList, timeCursor } from "../pagination";
import { text } from "../validate";
import { discount } from "./schemas";

const COUPON_STATUSES = ["active", "upcoming"] as const;

export const couponsQuery = z.object({
  status: statusList(COUPON_STATUSES, COUPON_STATUSES),
  cursor: text().max(100).optional().describe("nextCursor of the previous page"),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
});

const listedCoupon = z.object({
  id: z.uuid(),
  name: z.string(),
  discount,
  quantity: z.number().int(),
  remaining: z.number().int().describe("claims left"),
  status: z.enum(COUPON_STATUSES),
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
});
const couponPage = z.object({ items: z.array(listedCoupon), nextCursor: z.string().nullable() });

/** Claims won per coupon: Redis's count where it holds the coupon, Postgres's for the rest. */
async function claimsOf(d: Deps, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    // one transaction per coupon, at once: a coupon's keys share its slot, different coupons do not
    const counts = await Promise.all(
      ids.map((id) => d.redis.multi().exists(couponKeys(id).meta).hlen(couponKeys(id).claims).exec()),
    );
    counts.forEach((res, i) => {
      const [[e1, primed], [e2, n]] = res as [[Error | null, number], [Error | null, number]];
      if (!e1 && !e2 && primed) out.set(ids[i]!, Number(n));
    });
  } catch {
    // Redis unavailable: every count from Postgres
  }
  const missing = ids.filter((id) => !out.has(id));
  if (missing.length) {
    const rows = await d.db
      .select({ id: userCoupons.couponId, n: count() })
      .from(userCoupons)
      .where(inArray(userCoupons.couponId, missing))
      .groupBy(userCoupons.couponId);
    for (const id of missing) out.set(id, rows.find((r) => r.id === id)?.n ?? 0);
  }
  return out;
}

export function couponListRoutes(d: Deps) {
  const app = new Hono<Env>();

  app.get(
    "/v1/coupons",
    openapi({
      summary: "Coupons that can be claimed now (active) or later (upcoming), soonest first, with the claims left",
      description:
        "Cursor pagination: pass `nextCursor` as `cursor` with the same status (`limit` 1 to 100, default 20).",
      query: couponsQuery,
      responses: { 200: couponPage },
      errors: ["VALIDATION_FAILED"],
    }),
    async (c) => {
      const { status: wanted, cursor: raw, limit } = c.req.valid("query");
      const cursor = raw === undefined ? undefined : timeCursor.decode(raw);
      if (raw !== undefined && !cursor)
        throw new AppError("VALIDATION_FAILED", "cursor: not a cursor of this list (pass nextCursor as it came)");
      const now = new Date();
      const windows: SQL[] = [];
      if (wanted.has("active")) windows.push(and(lte(coupons.startsAt, now), gt(coupons.endsAt, now))!);
      if (wanted.has("upcoming")) windows.push(gt(coupons.startsAt, now));
      const rows = await d.db
        .select()
        .from(coupons)
        .where(
          and(
            or(...windows),
            cursor
              ? sql`(${coupons.startsAt}, ${coupons.id}) > (${cursor.at.toISOString()}::timestamptz, ${cursor.id}::uuid)`
              : undefined,
          ),
        )
        .orderBy(asc(coupons.startsAt), asc(coupons.id))
        .limit(limit + 1);
      const { items } = page(rows, limit);
      const claims = await claimsOf(
        d,
        items.map((r) => r.id),
      );
      const last = items.at(-1);
      return c.json({
        items: items.map((r) => ({
          id: r.id,
          name: r.name,
          discount: { type: r.discountType, value: r.discountValue },
          quantity: r.quantity,
          remaining: Math.max(0, r.quantity - (claims.get(r.id) ?? 0)),
          status: r.startsAt <= now ? "active" : "upcoming",
          startsAt: r.startsAt,
          endsAt: r.endsAt,
        })),
        nextCursor: rows.length > limit && last ? timeCursor.encode(last.startsAt, last.id) : null,
      });
    },
  );

  return app;
}
