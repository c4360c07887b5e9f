// The order saga's worker: loads the batch's snapshots under row locks, applies each message to the pure
// machine, and writes snapshots, the order read model and the emitted commands in the batch's transaction.
// The hot path speaks SQL through drizzle's `sql` template, one statement per table and batch, with each column
// passed as one array parameter (unnest): the query builder's cost per row was most of this worker's CPU.

import type { JetStreamClient } from "@nats-io/jetstream";
import { and, inArray, isNotNull, lt, sql } from "drizzle-orm";
import { abandonedOrders, type Db, orderHistory, orderItems, orders, sagas, type Tx } from "../../db";
import { applyEvent, lockOrders, type OrderStatus, type SagaEvent, type Step, startSaga } from "../../domain/order";
import type { Outgoing } from "../../nats";
import { type Data, type Logger, publish, repeat } from "../../nats";
import type { BatchHandler, Incoming } from "../lib/worker";
import { forgetCheckouts, takeOutOfCarts } from "./cart";
import { decidePlacements, type Placement, placementOf, type Refusal, saleHoldings } from "./sale-backing";

type Loaded = {
  snapshot: Step["snapshot"];
  status: string;
  cancelled: Set<string>;
  dirty: boolean;
  isNew: boolean;
  deadlineAt?: number;
  state: string;
};

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
    // statements of one transaction run in the order they are sent: those that need no answer from the one
    // before go out together (one round trip, not one each)
    const [loaded, abandoned] = await Promise.all([lockSagas(tx, batch), lockSalePlacements(tx, batch)]);
    const refused = await checkSalePlacements(tx, batch, loaded, abandoned);
    if (refused.size)
      opts.log.warn("flash-sale placements refused by postgres: the gate admitted them past what the sale holds", {
        refused: Object.fromEntries(refused),
      });
    const { out, history, placed } = applyBatch(batch, loaded, abandoned, refused, opts);
    // new orders' rows and PENDING history first: a placement refused at once has its CANCELLED row after them
    await insertPlacedOrders(tx, placed);
    await Promise.all([
      writeSagas(tx, loaded, placed),
      insertHistory(tx, history),
      // the shopper's cart follows the order in the same transaction: no delivery of the order's event for it
      takeOutOfCarts(
        tx,
        history.filter((h) => h.status === "CONFIRMED").map((h) => h.orderId),
      ),
      forgetCheckouts(
        tx,
        history.filter((h) => h.status === "CANCELLED").map((h) => h.orderId),
      ),
    ]);
    if (history.length && opts.onStatus) afterCommit(() => opts.onStatus!(history));
    return out;
  };
}

/** The batch's sagas, their rows locked in key order (two instances never deadlock). */
async function lockSagas(tx: Tx, batch: Incoming[]): Promise<Map<string, Loaded>> {
  const ids = [...new Set(batch.map((b) => b.env.orderId).filter((id): id is string => !!id))].sort();
  const rows = ids.length
    ? await tx.execute<{ order_id: string; state: string; snapshot: unknown }>(
        sql`select order_id, state, snapshot from ${sagas} where order_id = any(${list(ids)}::uuid[]) order by order_id for update`,
      )
    : [];
  const loaded = new Map<string, Loaded>();
  for (const r of rows) {
    const ctx = (r.snapshot as { context: Step["context"] }).context;
    loaded.set(r.order_id, {
      snapshot: r.snapshot as Step["snapshot"],
      status: ctx.status,
      cancelled: new Set(ctx.items.filter((i) => i.cancelled).map((i) => i.itemId)),
      dirty: false,
      isNew: false,
      state: r.state,
    });
  }
  return loaded;
}

/**
 * Each message through the machine, in arrival order, over `loaded` (updated in place): the commands to send,
 * the status changes for the history, and the placements that start a saga.
 */
function applyBatch(
  batch: Incoming[],
  loaded: Map<string, Loaded>,
  abandoned: Set<string>,
  refused: Map<string, Refusal>,
  opts: OrderHandlerOptions,
) {
  const out: { msg: Outgoing; cause: Incoming }[] = [];
  const history: { orderId: string; status: OrderStatus }[] = [];
  const placed: Data<"orders.cmd.place">[] = [];
  const at = Date.now();
  for (const inc of batch) {
    const { env } = inc;
    const orderId = env.orderId!;
    let step: Step;
    const current = loaded.get(orderId);
    if (env.type === "orders.cmd.place") {
      if (current || abandoned.has(orderId)) continue; // placed twice under two message ids, or given up
      const data = env.data as Data<"orders.cmd.place">;
      placed.push(data);
      step = startSaga({
        ...data,
        at,
        paymentDeadlineMs: opts.paymentDeadlineMs,
        autoDeliverAfterMs: opts.autoDeliverAfterMs || undefined,
        refused: refused.get(orderId),
      });
      if (step.context.status !== "PENDING") history.push({ orderId, status: step.context.status });
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
  return { out, history, placed };
}

/** The changed sagas: new ones inserted, the others updated, and the order read model after them. */
async function writeSagas(tx: Tx, loaded: Map<string, Loaded>, placed: Data<"orders.cmd.place">[]) {
  const dirty = [...loaded.entries()].filter(([, l]) => l.dirty);
  const started = new Set(placed.map((p) => p.orderId));
  const fresh = dirty.filter(([id]) => started.has(id));
  if (fresh.length) {
    // another instance may have started the same saga (a second copy of the placement) since we looked:
    // its row wins, and this batch is retried, where the placement is then seen as a duplicate
    const inserted = await tx.execute(sql`
      insert into ${sagas} (order_id, state, snapshot, deadline_at)
      select id, state, snapshot::jsonb, deadline_at::timestamptz from ${sagaColumns(fresh)}
      on conflict (order_id) do nothing returning order_id`);
    if (inserted.length < fresh.length) throw new Error("saga started concurrently by another instance; retrying");
  }
  const known = dirty.filter(([id]) => !started.has(id));
  if (known.length)
    await tx.execute(sql`
      update ${sagas} s set state = v.state, snapshot = v.snapshot::jsonb, deadline_at = v.deadline_at::timestamptz, updated_at = now()
      from ${sagaColumns(known)} where s.order_id = v.id`);
  if (dirty.length) await syncReadModel(tx, dirty);
}

async function insertHistory(tx: Tx, history: { orderId: string; status: OrderStatus }[]) {
  if (!history.length) return;
  await tx.execute(sql`
    insert into ${orderHistory} (order_id, status)
    select id, status::ordering.order_status from unnest(${list(history.map((h) => h.orderId))}::uuid[], ${list(history.map((h) => h.status))}::text[]) as v(id, status)`);
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
  await lockOrders(tx, ids);
  const rows = await tx
    .select({ id: abandonedOrders.orderId })
    .from(abandonedOrders)
    .where(inArray(abandonedOrders.orderId, ids));
  return new Set(rows.map((r) => r.id));
}

/** The batch's new flash-sale placements, checked against what their sales' orders hold (sale-backing.ts). */
async function checkSalePlacements(tx: Tx, batch: Incoming[], known: Map<string, Loaded>, abandoned: Set<string>) {
  const seen = new Set<string>();
  const fresh: Placement[] = [];
  for (const { env } of batch) {
    if (env.type !== "orders.cmd.place") continue;
    const p = placementOf(env.data as Data<"orders.cmd.place">);
    if (!p || known.has(p.orderId) || abandoned.has(p.orderId) || seen.has(p.orderId)) continue;
    seen.add(p.orderId);
    fresh.push(p);
  }
  if (!fresh.length) return new Map<string, Refusal>();
  return decidePlacements(fresh, await saleHoldings(tx, fresh));
}

/**
 * One array parameter: `unnest` turns a batch of them into rows, whatever the batch's size. (Times travel as
 * text: the driver cannot serialise a timestamptz[] parameter.)
 */
const list = (values: unknown[]) => sql.param(values);

/** The batch's saga rows as `v(id, state, snapshot, deadline_at)`. */
function sagaColumns(rows: [string, Loaded][]) {
  return sql`unnest(
    ${list(rows.map(([id]) => id))}::uuid[], ${list(rows.map(([, l]) => l.state))}::text[],
    ${list(rows.map(([, l]) => JSON.stringify(l.snapshot)))}::text[],
    ${list(rows.map(([, l]) => (l.deadlineAt ? new Date(l.deadlineAt).toISOString() : null)))}::text[]
  ) as v(id, state, snapshot, deadline_at)`;
}

/** Orders that reach the saga without a row yet (flash-sale purchases) get one here; edge-created ones are kept. */
async function insertPlacedOrders(tx: Tx, placed: Data<"orders.cmd.place">[]) {
  if (!placed.length) return;
  const col = <T>(f: (p: Data<"orders.cmd.place">) => T) => list(placed.map(f));
  const inserted = await tx.execute<{ id: string }>(sql`
    insert into ${orders} (id, user_id, total, discount, coupon_id, sale_id, payment_method, idempotency_key, request_hash)
    select * from unnest(${col((p) => p.orderId)}::uuid[], ${col((p) => p.userId)}::uuid[], ${col((p) => p.total)}::int[],
      ${col((p) => p.discount)}::int[], ${col((p) => p.couponId ?? null)}::uuid[], ${col((p) => p.saleId ?? null)}::uuid[],
      ${col((p) => p.paymentMethod)}::text[], ${col((p) => p.idempotency?.key ?? null)}::text[], ${col((p) => p.idempotency?.requestHash ?? null)}::text[])
    on conflict do nothing returning id`);
  if (!inserted.length) return;
  const fresh = new Set(inserted.map((r) => r.id));
  const mine = placed.filter((p) => fresh.has(p.orderId));
  const items = mine.flatMap((p) => p.items.map((i) => ({ ...i, orderId: p.orderId })));
  const icol = <T>(f: (i: (typeof items)[number]) => T) => list(items.map(f));
  await tx.execute(sql`
    insert into ${orderItems} (id, order_id, product_id, quantity, price)
    select * from unnest(${icol((i) => i.itemId)}::uuid[], ${icol((i) => i.orderId)}::uuid[], ${icol((i) => i.productId)}::uuid[],
      ${icol((i) => i.quantity)}::int[], ${icol((i) => i.price)}::int[])`);
  await tx.execute(
    sql`insert into ${orderHistory} (order_id, status) select unnest(${list(mine.map((p) => p.orderId))}::uuid[]), 'PENDING'`,
  );
}

/** Copies status, reason and cancelled items from the saga context into the order read model. */
async function syncReadModel(tx: Tx, dirty: [string, Loaded][]) {
  const cancelledItems: string[] = [];
  const changed: { id: string; status: string; reason: string | null }[] = [];
  for (const [orderId, l] of dirty) {
    const ctx = (l.snapshot as { context: Step["context"] }).context;
    for (const i of ctx.items) if (i.cancelled && !l.cancelled.has(i.itemId)) cancelledItems.push(i.itemId);
    if (!(l.isNew && ctx.status === "PENDING"))
      changed.push({ id: orderId, status: ctx.status, reason: ctx.reason ?? null });
  }
  if (cancelledItems.length)
    await tx.execute(
      sql`update ${orderItems} set status = 'CANCELLED' where id = any(${list(cancelledItems)}::uuid[])`,
    );
  if (changed.length)
    await tx.execute(sql`
      update ${orders} o set status = v.status::ordering.order_status, reason = v.reason, updated_at = now()
      from unnest(${list(changed.map((c) => c.id))}::uuid[], ${list(changed.map((c) => c.status))}::text[], ${list(changed.map((c) => c.reason))}::text[])
        as v(id, status, reason)
      where o.id = v.id and (o.status::text <> v.status or o.reason is distinct from v.reason)`);
}

/** Sends a timeout to every saga whose payment deadline has passed; the saga checks the deadline itself. */
export function startDeadlineSweeper(db: Db, js: JetStreamClient, log: Logger, everyMs = 1000) {
  return repeat(
    everyMs,
    async () => {
      const due = await db
        .select({ orderId: sagas.orderId, deadlineAt: sagas.deadlineAt })
        .from(sagas)
        .where(and(isNotNull(sagas.deadlineAt), lt(sagas.deadlineAt, new Date())))
        .limit(500);
      // one message id per deadline and minute: JetStream drops the repeats of later sweeps and of other
      // instances; a timeout the saga found early (another clock) is sent again the next minute
      const minute = Math.floor(Date.now() / 60_000);
      const id = (orderId: string, at: Date | null) => `timeout:${orderId}:${at?.getTime()}:${minute}`;
      await Promise.all(
        due.map(({ orderId, deadlineAt }) =>
          publish(js, "orders.cmd.timeout", { orderId }, { id: id(orderId, deadlineAt) }),
        ),
      );
      if (due.length) log.info("deadlines passed", { count: due.length });
    },
    (err) => log.warn("deadline sweep failed", { err }),
  );
}
