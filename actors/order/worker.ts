// The order saga's worker: loads the batch's snapshots under row locks, applies each message to the pure
// machine, and writes snapshots, the order read model and the emitted commands in the batch's transaction.
import { and, eq, inArray, isNotNull, lt, sql } from "drizzle-orm";
import { abandonedOrders, orderHistory, orderItems, orders, sagas, type Db, type Tx } from "../../db";
import { publish, type Data, type Logger } from "../../nats";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Outgoing } from "../../nats";
import type { BatchHandler, Incoming } from "../lib/worker";
import type { OrderStatus, SagaEvent } from "./machine";
import { applyEvent, startSaga, type Step } from "./saga";

type Loaded = { snapshot: Step["snapshot"]; status: string; cancelled: Set<string>; dirty: boolean; isNew: boolean; deadlineAt?: number; state: string };

export type OrderHandlerOptions = {
  paymentDeadlineMs: number;
  log: Logger;
  /** 0 or unset: a shipped order waits for the seller to mark it delivered. */
  autoDeliverAfterMs?: number;
  /** Status changes, once committed (the order-status broadcast). */
  onStatus?: (changes: { orderId: string; status: OrderStatus }[]) => void;
};

export function orderHandler(opts: OrderHandlerOptions): BatchHandler {
  return async (tx, batch, afterCommit) => {
    const ids = [...new Set(batch.map((b) => b.env.orderId).filter((id): id is string => !!id))].sort();
    const rows = ids.length
      ? await tx.select().from(sagas).where(inArray(sagas.orderId, ids)).orderBy(sagas.orderId).for("update")
      : [];
    const loaded = new Map<string, Loaded>();
    for (const r of rows) {
      const ctx = (r.snapshot as { context: Step["context"] }).context;
      loaded.set(r.orderId, {
        snapshot: r.snapshot as Step["snapshot"],
        status: ctx.status,
        cancelled: new Set(ctx.items.filter((i) => i.cancelled).map((i) => i.itemId)),
        dirty: false,
        isNew: false,
        state: r.state,
      });
    }
    const out: { msg: Outgoing; cause: Incoming }[] = [];
    const history: { orderId: string; status: OrderStatus }[] = [];
    const placed: Data<"orders.cmd.place">[] = [];
    const at = Date.now();
    const abandoned = await lockSalePlacements(tx, batch);

    for (const inc of batch) {
      const { env } = inc;
      const orderId = env.orderId!;
      let step: Step;
      const current = loaded.get(orderId);
      if (env.type === "orders.cmd.place") {
        if (current || abandoned.has(orderId)) continue; // placed twice under two message ids, or given up
        const data = env.data as Data<"orders.cmd.place">;
        placed.push(data);
        step = startSaga({ ...data, at, paymentDeadlineMs: opts.paymentDeadlineMs, autoDeliverAfterMs: opts.autoDeliverAfterMs || undefined });
      } else {
        if (!current) throw new Error(`no saga for order ${orderId} (${env.type})`);
        step = applyEvent(current.snapshot, { type: env.type, data: env.data, at } as SagaEvent);
        if (!step.handled) {
          opts.log.warn("event ignored by saga", { orderId, type: env.type, state: current.state, msgId: env.id });
          continue;
        }
        if (step.context.status !== current.status && step.context.status !== "PENDING")
          history.push({ orderId, status: step.context.status });
      }
      loaded.set(orderId, {
        snapshot: step.snapshot,
        status: step.context.status,
        cancelled: current?.cancelled ?? new Set(),
        dirty: true,
        isNew: !current,
        state: step.state,
        deadlineAt: step.context.deadlineAt,
      });
      for (const c of step.commands) out.push({ msg: c, cause: inc });
    }

    await insertPlacedOrders(tx, placed);
    const dirty = [...loaded.entries()].filter(([, l]) => l.dirty);
    const row = ([orderId, l]: [string, Loaded]) => ({
      orderId,
      state: l.state,
      snapshot: l.snapshot,
      deadlineAt: l.deadlineAt ? new Date(l.deadlineAt) : null,
    });
    const started = new Set(placed.map((p) => p.orderId));
    const fresh = dirty.filter(([id]) => started.has(id));
    if (fresh.length) {
      // another instance may have started the same saga (a second copy of the placement) since we looked:
      // its row wins, and this batch is retried, where the placement is then seen as a duplicate
      const inserted = await tx.insert(sagas).values(fresh.map(row)).onConflictDoNothing().returning({ id: sagas.orderId });
      if (inserted.length < fresh.length) throw new Error("saga started concurrently by another instance; retrying");
    }
    const known = dirty.filter(([id]) => !started.has(id));
    if (known.length) {
      await tx
        .insert(sagas)
        .values(known.map(row))
        .onConflictDoUpdate({
          target: sagas.orderId,
          set: {
            state: sql`excluded.state`,
            snapshot: sql`excluded.snapshot`,
            deadlineAt: sql`excluded.deadline_at`,
            updatedAt: sql`now()`,
          },
        });
    }
    if (dirty.length) await syncReadModel(tx, dirty);
    if (history.length) await tx.insert(orderHistory).values(history);
    if (history.length && opts.onStatus) afterCommit(() => opts.onStatus!(history));
    return out;
  };
}

/**
 * Flash-sale placements and the hold sweeper race for the same order id: both take the id's advisory lock,
 * and a placement whose hold was already given up (abandoned_orders) is dropped.
 */
async function lockSalePlacements(tx: Tx, batch: Incoming[]): Promise<Set<string>> {
  const ids = batch
    .filter((b) => b.env.type === "orders.cmd.place" && (b.env.data as Data<"orders.cmd.place">).saleId)
    .map((b) => b.env.orderId!)
    .sort();
  if (!ids.length) return new Set();
  const values = sql.join(ids.map((id) => sql`(${id})`), sql`, `);
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(t.id)) from (values ${values}) as t(id) order by t.id`);
  const rows = await tx.select({ id: abandonedOrders.orderId }).from(abandonedOrders).where(inArray(abandonedOrders.orderId, ids));
  return new Set(rows.map((r) => r.id));
}

/** Orders that reach the saga without a row yet (flash-sale purchases) get one here; edge-created ones are kept. */
async function insertPlacedOrders(tx: Tx, placed: Data<"orders.cmd.place">[]) {
  if (!placed.length) return;
  const inserted = await tx
    .insert(orders)
    .values(
      placed.map((p) => ({
        id: p.orderId,
        userId: p.userId,
        total: p.total,
        discount: p.discount,
        couponId: p.couponId,
        saleId: p.saleId,
        paymentMethod: p.paymentMethod,
      })),
    )
    .onConflictDoNothing()
    .returning({ id: orders.id });
  if (!inserted.length) return;
  const fresh = new Set(inserted.map((r) => r.id));
  const mine = placed.filter((p) => fresh.has(p.orderId));
  await tx.insert(orderItems).values(
    mine.flatMap((p) =>
      p.items.map((i) => ({ id: i.itemId, orderId: p.orderId, productId: i.productId, quantity: i.quantity, price: i.price })),
    ),
  );
  await tx.insert(orderHistory).values(mine.map((p) => ({ orderId: p.orderId, status: "PENDING" as const })));
}

/** Copies status, reason and cancelled items from the saga context into the order read model. */
async function syncReadModel(tx: Tx, dirty: [string, Loaded][]) {
  for (const [orderId, l] of dirty) {
    const ctx = (l.snapshot as { context: Step["context"] }).context;
    const newlyCancelled = ctx.items.filter((i) => i.cancelled && !l.cancelled.has(i.itemId)).map((i) => i.itemId);
    if (newlyCancelled.length)
      await tx.update(orderItems).set({ status: "CANCELLED" }).where(inArray(orderItems.id, newlyCancelled));
    if (l.isNew && ctx.status === "PENDING") continue;
    await tx
      .update(orders)
      .set({ status: ctx.status, reason: ctx.reason ?? null, updatedAt: sql`now()` })
      .where(and(eq(orders.id, orderId), sql`(${orders.status} <> ${ctx.status} or ${orders.reason} is distinct from ${ctx.reason ?? null})`));
  }
}

/** Sends a timeout to every saga whose payment deadline has passed; the saga checks the deadline itself. */
export function startDeadlineSweeper(db: Db, js: JetStreamClient, log: Logger, everyMs = 1000) {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const due = await db
          .select({ orderId: sagas.orderId, deadlineAt: sagas.deadlineAt })
          .from(sagas)
          .where(and(isNotNull(sagas.deadlineAt), lt(sagas.deadlineAt, new Date())))
          .limit(500);
        // one message id per deadline and minute: JetStream drops the repeats of later sweeps and of other
        // instances; a timeout the saga found early (another clock) is sent again the next minute
        const minute = Math.floor(Date.now() / 60_000);
        const id = (orderId: string, at: Date | null) => `timeout:${orderId}:${at?.getTime()}:${minute}`;
        await Promise.all(due.map(({ orderId, deadlineAt }) => publish(js, "orders.cmd.timeout", { orderId }, { id: id(orderId, deadlineAt) })));
        if (due.length) log.info("deadlines passed", { count: due.length });
      } catch (err) {
        log.warn("deadline sweep failed", { err });
      }
      await Bun.sleep(everyMs);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
