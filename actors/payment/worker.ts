// Payment: charges through the gateway with the order id as idempotency key, settles on the verified
// webhook, refunds once per refund key.
import { and, eq, sql } from "drizzle-orm";
import { payments, refunds, type Tx } from "../../db";
import type { Data } from "../../nats";
import type { Outgoing } from "../../nats";
import type { BatchHandler, Incoming } from "../lib/worker";
import type { GatewayClient } from "./gateway-client";

export function paymentHandler(gateway: GatewayClient): BatchHandler {
  return async (tx, batch) => {
    // gateway calls of a batch go out together; each is idempotent, so a retried batch repeats nothing
    const charges = batch.filter((b) => b.env.type === "payments.cmd.charge");
    await Promise.all(charges.map((c) => charge(tx, gateway, c.env.data as Data<"payments.cmd.charge">)));
    const out: { msg: Outgoing; cause: Incoming }[] = [];
    for (const inc of batch) {
      const { env } = inc;
      let msg: Outgoing | undefined;
      if (env.type === "payments.cmd.settle") msg = await settle(tx, env.data as Data<"payments.cmd.settle">);
      if (env.type === "payments.cmd.refund") msg = await refund(tx, gateway, env.data as Data<"payments.cmd.refund">);
      if (msg) out.push({ msg, cause: inc });
    }
    return out;
  };
}

async function charge(tx: Tx, gateway: GatewayClient, c: Data<"payments.cmd.charge">) {
  const g = await gateway.charge(c);
  await tx
    .insert(payments)
    .values({ id: Bun.randomUUIDv7(), orderId: c.orderId, amount: c.amount, method: c.method, gatewayPaymentId: g.id })
    .onConflictDoNothing();
}

async function settle(tx: Tx, s: Data<"payments.cmd.settle">): Promise<Outgoing | undefined> {
  const [p] = await tx
    .update(payments)
    .set({ status: s.approved ? "APPROVED" : "DECLINED", updatedAt: sql`now()` })
    .where(and(eq(payments.orderId, s.orderId), eq(payments.gatewayPaymentId, s.gatewayPaymentId), eq(payments.status, "PENDING")))
    .returning();
  if (!p) {
    // the webhook can outrun the commit of the charge that caused it: retry until the row is there
    const [known] = await tx.select({ id: payments.id }).from(payments).where(eq(payments.orderId, s.orderId));
    if (!known) throw new Error(`settle before charge was recorded: order ${s.orderId}`);
    return undefined; // already settled
  }
  return s.approved
    ? { type: "payments.evt.approved", data: { orderId: p.orderId, amount: p.amount } }
    : { type: "payments.evt.declined", data: { orderId: p.orderId } };
}

async function refund(tx: Tx, gateway: GatewayClient, r: Data<"payments.cmd.refund">): Promise<Outgoing> {
  const done: Outgoing = { type: "payments.evt.refunded", data: r };
  const fresh = await tx.insert(refunds).values({ key: r.key, orderId: r.orderId, amount: r.amount }).onConflictDoNothing().returning();
  if (!fresh.length) return done;
  const [p] = await tx.select().from(payments).where(eq(payments.orderId, r.orderId)).for("update");
  if (!p?.gatewayPaymentId) throw new Error(`refund ${r.key}: no payment for order ${r.orderId}`);
  await gateway.refund(p.gatewayPaymentId, r.amount, r.key);
  await tx.update(payments).set({ refunded: sql`${payments.refunded} + ${r.amount}`, updatedAt: sql`now()` }).where(eq(payments.id, p.id));
  return done;
}
