// Flash sales: made by carving units out of a product's stock; bought through the Redis gate, whose admitted
// purchases are published to JetStream (acked) before the 202 goes out.
import { and, eq, isNull, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { orders, products, type Sale, saleStock, sales, stock } from "../../db";
import { requestHash as hashOf } from "../../domain/idempotency";
import { gate, gateFromPostgres, rebuildGate } from "../../domain/sale";
import { jetstreamManagerOf, paymentMethod, publish, uuidv7 } from "../../nats";
import { heldCoupon } from "../coupons";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { idempotencyKey, idempotent } from "../idempotency";
import { caller, requireRole } from "../middleware/auth";
import { verifiedEmailGate } from "../middleware/verified-email";
import { openapi } from "../openapi";
import { body, idParam } from "../validate";
import { ended, type SaleBoard } from "./board";
import { decidePurchase, refusePurchase } from "./decide";
import { saleListRoutes } from "./list";
import { saleStatus } from "./status";

export const createSale = z
  .object({
    productId: z.string().uuid(),
    price: z.number().int().min(0).max(1_000_000_000),
    quantity: z.number().int().min(1).max(1_000_000),
    perUserLimit: z.number().int().min(1).max(1000).default(1),
    startsAt: z.string().datetime({ offset: true }),
    endsAt: z.string().datetime({ offset: true }).optional(),
  })
  .refine((s) => !s.endsAt || Date.parse(s.endsAt) > Date.parse(s.startsAt), {
    message: "endsAt must be after startsAt",
    path: ["endsAt"],
  });

export const purchase = z.object({
  quantity: z.number().int().min(1).max(1000).default(1),
  /** The coupon's id; the shopper must hold an AVAILABLE claim of it (the saga redeems it). */
  couponId: z.uuid().optional(),
  paymentMethod: paymentMethod.default("card_ok"),
});

export function saleView(s: Sale, remaining: number, now = Date.now()) {
  const status = saleStatus({ startsAt: s.startsAt.getTime(), endsAt: s.endsAt?.getTime() }, remaining, now);
  return {
    id: s.id,
    productId: s.productId,
    sellerId: s.sellerId,
    price: s.price,
    quantity: s.quantity,
    perUserLimit: s.perUserLimit,
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    remaining: Math.max(0, remaining),
    status,
  };
}

/** The front layer's shortcut for purchases bound to lose (see board.ts): `POST /v1/sales/:id/purchase` only. */
export function purchaseShortcut(board: SaleBoard) {
  return {
    method: "POST",
    route: "/v1/sales/:id/purchase",
    decide(path: string, headers: Headers) {
      if (!path.startsWith("/v1/sales/") || !path.endsWith("/purchase")) return;
      return board.purchaseShortcut(path.slice(10, -9), headers.has("idempotency-key"));
    },
  };
}

export function salesRoutes(d: Deps, board: SaleBoard) {
  const app = new Hono<Env>();
  const verified = verifiedEmailGate(d);
  const g = gate(d.redis);
  const findSale = board.find;
  app.route("/", saleListRoutes(d));

  const rebuild = async (saleId: string) => {
    const jsm = await jetstreamManagerOf(d.bus.nc);
    if (!(await rebuildGate({ db: d.db, redis: d.redis, gate: g, jsm, log: d.log }, saleId)))
      throw new AppError("UPSTREAM_UNAVAILABLE", "the sale's counters are being rebuilt; retry in a moment");
  };

  const idempotencyHeader = {
    "Idempotency-Key": { description: "The same key and body return the first answer (24 h)." },
  };
  app.post(
    "/v1/sales",
    requireRole("seller", "admin"),
    openapi({
      summary: "Create a flash sale; its quantity is carved out of the product's stock",
      description: "For the product's seller or an admin.",
      body: createSale,
      headers: idempotencyHeader,
      responses: { 201: { description: "The sale, with remaining and status" } },
      errors: ["INSUFFICIENT_STOCK", "IDEMPOTENCY_KEY_REUSED"],
    }),
    async (c) => {
      const user = caller(c);
      const input = c.req.valid("json");
      const answer = await idempotent(
        d.db,
        { userId: user.sub, key: c.req.header("idempotency-key"), scope: "POST /v1/sales", request: input },
        async (tx) => {
          const [p] = await tx
            .select()
            .from(products)
            .where(and(eq(products.id, input.productId), isNull(products.deletedAt)));
          if (!p) throw new AppError("NOT_FOUND", "no such product");
          if (user.role !== "admin" && p.sellerId !== user.sub) throw new AppError("FORBIDDEN", "not your product");
          const carved = await tx
            .update(stock)
            .set({ available: sql`${stock.available} - ${input.quantity}`, updatedAt: sql`now()` })
            .where(and(eq(stock.productId, p.id), sql`${stock.available} >= ${input.quantity}`))
            .returning();
          if (!carved.length)
            throw new AppError("INSUFFICIENT_STOCK", "the product has fewer units than the sale's quantity");
          const [s] = await tx
            .insert(sales)
            .values({
              id: uuidv7(),
              productId: p.id,
              sellerId: p.sellerId,
              price: input.price,
              quantity: input.quantity,
              perUserLimit: input.perUserLimit,
              startsAt: new Date(input.startsAt),
              endsAt: input.endsAt ? new Date(input.endsAt) : null,
            })
            .returning();
          await tx.insert(saleStock).values({ saleId: s!.id, available: s!.quantity });
          return { status: 201, body: saleView(s!, s!.quantity) };
        },
      );
      // the gate comes from Postgres, never from the request: a replay may come after purchases (and after
      // Redis lost them), so it is rebuilt like any lost gate, once the orders in flight are written
      if (answer.replayed) {
        if (!(await g.counters(answer.body.id))) await rebuild(answer.body.id);
        c.header("Idempotent-Replayed", "true");
      } else {
        // a new sale has no order yet; a purchase that raced this load rebuilt the gate itself (load keeps it)
        const load = await gateFromPostgres(d.db, answer.body.id);
        if (load) await g.load(answer.body.id, load);
      }
      return c.json(answer.body, answer.status);
    },
  );

  app.get(
    "/v1/sales/:id",
    openapi({
      summary: "A sale with what remains; status: scheduled, live, sold_out or ended",
      responses: { 200: { description: "The sale, with remaining and status" } },
    }),
    async (c) => {
      const s = await findSale(idParam(c));
      const counters = await g.counters(s.id);
      if (counters) return c.json(saleView(s, counters.remaining));
      // an ended sale's keys expire: what remains is read from Postgres; a live one gets its gate back
      if (ended(s)) return c.json(saleView(s, (await gateFromPostgres(d.db, s.id))?.remaining ?? 0));
      await rebuild(s.id);
      return c.json(saleView(s, (await g.counters(s.id))?.remaining ?? 0));
    },
  );

  app.post(
    "/v1/sales/:id/purchase",
    requireRole("shopper"),
    verified,
    openapi({
      summary: "Buy in a flash sale: decided at once, in arrival order; the order follows through the saga",
      body: purchase,
      // parsed by the handler, after the sold-out answer that needs no body
      rawBody: true,
      headers: idempotencyHeader,
      responses: {
        202: z.object({ orderId: z.uuid(), status: z.literal("PENDING"), position: z.number().int().optional() }),
      },
      errors: [
        "SOLD_OUT",
        "LIMIT_REACHED",
        "NOT_STARTED",
        "ENDED",
        "UPSTREAM_UNAVAILABLE",
        "IDEMPOTENCY_KEY_REUSED",
        "NOT_FOUND",
        "EMAIL_NOT_VERIFIED",
      ],
    }),
    async (c) => {
      const user = caller(c);
      const saleId = idParam(c);
      // (a purchase of a sale known to be sold out never gets here unless keyed: the front layer answered it)
      const input = await body(c, purchase);
      const s = await findSale(saleId);
      const key = idempotencyKey(c);
      const refused = refusePurchase(s, input, key !== undefined);
      if (refused) throw new AppError(refused.code, refused.detail);
      const requestHash = key ? hashOf(input) : undefined;
      const ask = (replayOnly: boolean) =>
        g.purchase({
          saleId,
          userId: user.sub,
          qty: input.quantity,
          orderId: uuidv7(),
          itemId: uuidv7(),
          idemKey: key,
          requestHash,
          replayOnly,
        });
      const gateAnswer = async (replayOnly = false) => {
        const first = await ask(replayOnly);
        if (first.ok || first.code !== "MISSING") return first;
        await rebuild(saleId);
        const again = await ask(replayOnly);
        // an ended sale's keys have expired for good: it is simply over
        return !again.ok && again.code === "MISSING" && ended(s) ? ({ ok: false, code: "ENDED" } as const) : again;
      };
      // a keyed retry is answered as the first time even if its coupon has been used since (by that very order)
      let r = key && input.couponId ? await gateAnswer(true) : undefined;
      const replay = r?.ok === true;
      const coupon = input.couponId
        ? await heldCoupon(d.db, user.sub, input.couponId).catch((err) => {
            if (!replay) throw err;
            return null; // used by the first answer's order: it was placed, nothing to publish again
          })
        : undefined;
      const askedAt = Date.now();
      if (!r?.ok) r = await gateAnswer();
      // a hold is marked placed only by the sweeper: a retry that waits for its order may find it in Postgres
      if (!r.ok && r.code === "BUSY" && (await orderOf(r.orderId, user.sub)))
        r = { ok: true, orderId: r.orderId, itemId: r.itemId, replayed: true };
      const idempotency = key && requestHash ? { key, requestHash } : undefined;
      const decision = decidePurchase({ sale: s, userId: user.sub, input, idempotency, result: r, coupon });
      if (decision.soldOut) board.soldOut(saleId, askedAt);
      if (!decision.ok) throw new AppError(decision.code, decision.detail);
      // published (and acked by JetStream) within the gate's placement window before the answer; a replay
      // publishes again under the same message id. If this fails the hold stays unconfirmed and the hold sweeper
      // gives it back once its grace (longer than the window) has passed.
      if (decision.place)
        await publish(d.bus.js, "orders.cmd.place", decision.place, {
          id: decision.orderId,
          traceparent: c.get("traceparent"),
          until: decision.placeBy,
        }).catch((err) => {
          c.get("log").error("purchase not queued", { err, saleId, orderId: decision.orderId });
          throw new AppError(
            "UPSTREAM_UNAVAILABLE",
            "the order could not be queued; retry with the same Idempotency-Key",
          );
        });
      if (decision.replayed) c.header("Idempotent-Replayed", "true");
      return c.json(
        { orderId: decision.orderId, status: "PENDING", ...(decision.replayed ? {} : { position: decision.position }) },
        202,
      );
    },
  );

  const orderOf = async (id: string, userId: string) =>
    (
      await d.db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.id, id), eq(orders.userId, userId)))
    ).length > 0;

  return app;
}
