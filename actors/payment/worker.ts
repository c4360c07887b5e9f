// Payment: charges through the gateway with the order id as idempotency key and settles from the gateway's
// answer when it decided in the call; a charge answered `pending` is settled by the verified webhook. Refunds
// once per refund key. A batch's charges and settlements are written in one statement each.
import { eq, sql } from "drizzle-orm";
import { payments, refunds, type Tx } from "../../db";
import type { GatewayClient } from "../../domain/payment";
import type { Data, Outgoing } from "../../nats";
import type { BatchHandler, Incoming } from "../lib/worker";

export function paymentHandler(gateway: GatewayClient): BatchHandler {
  return async (tx, batch) => {
    // gateway calls of a batch go out together; each is idempotent, so a retried batch repeats nothing
    const charges = batch.filter((b) => b.env.type === "payments.cmd.charge");
    const answers = await chargeAll(
      tx,
      gateway,
      charges.map((c) => c.env.data as Data<"payments.cmd.charge">),
    );
    // a charge the gateway decided in its answer settles here; the others wait for the webhook's settle
    const settles: { cause: Incoming; settle: Data<"payments.cmd.settle"> }[] = [];
    for (const [i, cause] of charges.entries()) {
      const a = answers[i]!;
      if (a.status !== "pending")
        settles.push({
          cause,
          settle: { orderId: a.orderId, gatewayPaymentId: a.id, approved: a.status === "approved" },
        });
    }
    for (const cause of batch)
      if (cause.env.type === "payments.cmd.settle")
        settles.push({ cause, settle: cause.env.data as Data<"payments.cmd.settle"> });
    const settled = await settleAll(
      tx,
      settles.map((s) => s.settle),
    );
    const msgs = new Map<Incoming, Outgoing | undefined>(settles.map((s, i) => [s.cause, settled[i]]));
    for (const inc of batch)
      if (inc.env.type === "payments.cmd.refund")
        msgs.set(inc, await refund(tx, gateway, inc.env.data as Data<"payments.cmd.refund">));
    return batch.flatMap((inc) => {
      const msg = msgs.get(inc);
      return msg ? [{ msg, cause: inc }] : [];
    });
  };
}

/** One array parameter, whatever the batch's size. */
const list = (values: unknown[]) => sql.param(values);

/** Charges the batch's payments (each idempotent at the gateway) and records them PENDING; returns the answers. */
async function chargeAll(tx: Tx, gateway: GatewayClient, charges: Data<"payments.cmd.charge">[]) {
  if (!charges.length) return [];
  const answers = await Promise.all(charges.map((c) => gateway.charge(c)));
  const col = <T>(f: (c: Data<"payments.cmd.charge">, i: number) => T) => list(charges.map(f));
  await tx.execute(sql`
    insert into ${payments} (id, order_id, amount, method, gateway_payment_id)
    select * from unnest(${col(() => Bun.randomUUIDv7())}::uuid[], ${col((c) => c.orderId)}::uuid[], ${col((c) => c.amount)}::int[],
      ${col((c) => c.method)}::text[], ${col((_, i) => answers[i]!.id)}::text[])
    on conflict do nothing`);
  return answers;
}

/** Settles the batch's payments still PENDING; returns each settlement's fact (undefined: settled before). */
async function settleAll(tx: Tx, settles: Data<"payments.cmd.settle">[]): Promise<(Outgoing | undefined)[]> {
  if (!settles.length) return [];
  const rows = await tx.execute<{ order_id: string; amount: number; status: string }>(sql`
    update ${payments} p set status = (case when v.approved = 'true' then 'APPROVED' else 'DECLINED' end)::payment.payment_status, updated_at = now()
    from (select distinct * from unnest(${list(settles.map((s) => s.orderId))}::uuid[], ${list(settles.map((s) => s.gatewayPaymentId))}::text[],
      ${list(settles.map((s) => String(s.approved)))}::text[]) as u(order_id, gateway_payment_id, approved)) as v
    where p.order_id = v.order_id and p.gateway_payment_id = v.gateway_payment_id and p.status = 'PENDING'
    returning p.order_id, p.amount, p.status`);
  const now = new Map(rows.map((r) => [r.order_id, r]));
  const unmatched = settles.filter((s) => !now.has(s.orderId)).map((s) => s.orderId);
  if (unmatched.length) {
    const known = await tx.execute<{ order_id: string }>(
      sql`select order_id from ${payments} where order_id = any(${list(unmatched)}::uuid[])`,
    );
    const missing = unmatched.filter((id) => !known.some((k) => k.order_id === id));
    // the webhook can outrun the commit of the charge that caused it: retry until the row is there
    if (missing.length) throw new Error(`settle before charge was recorded: order ${missing[0]}`);
  }
  return settles.map((s) => {
    const p = now.get(s.orderId);
    if (!p) return undefined; // already settled
    now.delete(s.orderId); // one fact per payment, even for a settlement seen twice in the batch
    return p.status === "APPROVED"
      ? { type: "payments.evt.approved", data: { orderId: p.order_id, amount: p.amount } }
      : { type: "payments.evt.declined", data: { orderId: p.order_id } };
  });
}

async function refund(tx: Tx, gateway: GatewayClient, r: Data<"payments.cmd.refund">): Promise<Outgoing> {
  const done: Outgoing = { type: "payments.evt.refunded", data: r };
  const fresh = await tx
    .insert(refunds)
    .values({ key: r.key, orderId: r.orderId, amount: r.amount })
    .onConflictDoNothing()
    .returning();
  if (!fresh.length) return done;
  const [p] = await tx.select().from(payments).where(eq(payments.orderId, r.orderId)).for("update");
  if (!p?.gatewayPaymentId) throw new Error(`refund ${r.key}: no payment for order ${r.orderId}`);
  await gateway.refund(p.gatewayPaymentId, r.amount, r.key);
  await tx
    .update(payments)
    .set({ refunded: sql`${payments.refunded} + ${r.amount}`, updatedAt: sql`now()` })
    .where(eq(payments.id, p.id));
  return done;
}
