// The ops console's feed, one per edge process, however many consoles watch: while at least one does, it reads
// what moves and hands each console the latest of every kind of event (sales, answers, health, audits, stuck
// sagas, dead letters). What it reads, and how often:
// - every process's ops tick (nats/ops-tick.ts), always: answers per second by status, breakers, the degraded
//   limiter; kept for WINDOW_S so a console opened mid-sale sees the minutes before it;
// - the sales worth watching from Postgres every SALES_EVERY_MS, their gate counters from Redis every second;
// - orders per sale and status from Postgres only when the order actor's status broadcasts or the gate's count
//   say something moved (at most once a second), else every ORDERS_EVERY_MS in case a broadcast was lost;
// - stuck sagas and each started sale's audit every SLOW_EVERY_MS (an audit again only when its sale moved or
//   was not quiet), the DLQ's state every DLQ_EVERY_MS and its letters when that changed.
import { desc, eq, gt, inArray, isNull, or, sql } from "drizzle-orm";
import { orders, products, sales } from "../../db";
import { SOLD_STATUSES } from "../../domain/order";
import { gate } from "../../domain/sale";
import { jetstreamManagerOf, OPS_TICK, type OpsTick, ORDER_STATUS_ANY, opsTick } from "../../nats";
import type { Deps } from "../deps";
import { auditSale } from "../sales/audit";
import { saleStatus } from "../sales/status";
import { deadLetters } from "./dlq";
import { opsOrders } from "./orders";
import { answersWindow, perSecond, timeToSellOut } from "./window";

/** The chart's span. */
export const WINDOW_S = 300;
const SALES_EVERY_MS = 5_000;
const ORDERS_EVERY_MS = 10_000;
const SLOW_EVERY_MS = 5_000;
const DLQ_EVERY_MS = 2_000;
/** A process whose last tick is older than this is gone from the health panel. */
const PROC_GONE_MS = 5_000;
/** Sales shown: those not ended, and those ended within this long, newest start first. */
const ENDED_SHOWN_MS = 10 * 60_000;
const MAX_SALES = 20;
const STUCK_AFTER_S = 60;

export type FeedEvent = "sales" | "answers" | "health" | "audits" | "stuck" | "dlq";
export type Listener = (event: FeedEvent, data: unknown) => void;

type Tracked = {
  id: string;
  productName: string;
  price: number;
  quantity: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date | null;
};

export function opsFeed(d: Deps) {
  const answers = answersWindow(WINDOW_S);
  const procs = new Map<string, { tick: OpsTick; seen: number }>();
  d.bus.nc.subscribe(OPS_TICK, {
    callback: (_err, m) => {
      const t = opsTick.safeParse(m.json());
      if (!t.success) return;
      if (t.data.answers) answers.add(t.data.second, t.data.answers);
      procs.set(t.data.id, { tick: t.data, seen: Date.now() });
    },
  });

  const listeners = new Set<Listener>();
  const latest = new Map<FeedEvent, unknown>();
  const emit = (event: FeedEvent, data: unknown) => {
    latest.set(event, data);
    for (const l of listeners) l(event, data);
  };
  let stop: (() => void) | undefined;

  function start(): () => void {
    const g = gate(d.redis);
    const manager = () => jetstreamManagerOf(d.bus.nc);
    let stopped = false;
    let tracked: Tracked[] = [];
    let trackedAt = 0;
    const readings = new Map<string, { at: number; admitted: number }[]>();
    const byStatus = new Map<string, Record<string, number>>();
    let ordersAt = 0;
    let moved = true;
    const audited = new Map<string, { admitted: number; orders: number; quiet: boolean }>();
    let dlqSeen = -1;
    const sub = d.bus.nc.subscribe(ORDER_STATUS_ANY, {
      callback: () => {
        moved = true;
      },
    });

    const every = (ms: number, work: () => Promise<void>) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const run = async () => {
        try {
          await work();
        } catch (err) {
          d.log.warn("ops feed", { err });
        }
        if (!stopped) timer = setTimeout(run, ms);
      };
      void run();
      return () => clearTimeout(timer);
    };

    const second = async () => {
      const now = Date.now();
      if (now - trackedAt >= SALES_EVERY_MS) {
        tracked = await d.db
          .select({
            id: sales.id,
            productName: products.name,
            price: sales.price,
            quantity: sales.quantity,
            perUserLimit: sales.perUserLimit,
            startsAt: sales.startsAt,
            endsAt: sales.endsAt,
          })
          .from(sales)
          .innerJoin(products, eq(products.id, sales.productId))
          .where(or(isNull(sales.endsAt), gt(sales.endsAt, new Date(now - ENDED_SHOWN_MS))))
          .orderBy(desc(sales.startsAt))
          .limit(MAX_SALES);
        trackedAt = now;
      }
      const counters = await Promise.all(tracked.map((s) => g.counters(s.id).catch(() => undefined)));
      for (const [i, s] of tracked.entries()) {
        const c = counters[i];
        const last = readings.get(s.id)?.at(-1);
        if (c && last && c.admitted !== last.admitted) moved = true;
      }
      if (tracked.length && (moved || now - ordersAt >= ORDERS_EVERY_MS)) {
        moved = false;
        ordersAt = now;
        const rows = await d.db
          .select({ saleId: orders.saleId, status: orders.status, n: sql<number>`count(*)::int` })
          .from(orders)
          .where(
            inArray(
              orders.saleId,
              tracked.map((s) => s.id),
            ),
          )
          .groupBy(orders.saleId, orders.status);
        byStatus.clear();
        for (const r of rows) (byStatus.get(r.saleId!) ?? byStatus.set(r.saleId!, {}).get(r.saleId!)!)[r.status] = r.n;
      }
      emit(
        "sales",
        tracked.map((s, i) => {
          const c = counters[i];
          const history = readings.get(s.id) ?? [];
          if (c) {
            history.push({ at: now, admitted: c.admitted });
            if (history.length > 6) history.shift();
            readings.set(s.id, history);
          }
          const remaining = c?.remaining ?? null;
          const status = saleStatus({ startsAt: s.startsAt.getTime(), endsAt: s.endsAt?.getTime() }, remaining, now);
          const o = byStatus.get(s.id) ?? {};
          const n = (...st: string[]) => st.reduce((sum, k) => sum + (o[k] ?? 0), 0);
          const pace = perSecond(history.at(0), history.at(-1)?.at ?? now, history.at(-1)?.admitted ?? 0);
          return {
            id: s.id,
            productName: s.productName,
            price: s.price,
            quantity: s.quantity,
            perUserLimit: s.perUserLimit,
            startsAt: s.startsAt.toISOString(),
            endsAt: s.endsAt?.toISOString() ?? null,
            status,
            remaining,
            admitted: c?.admitted ?? null,
            admittedPerS: Math.round(perSecond(history.at(-2), now, c?.admitted ?? 0) * 10) / 10,
            pending: n("PENDING"),
            settled: n(...SOLD_STATUSES, "CANCELLED"),
            confirmed: n(...SOLD_STATUSES),
            cancelled: n("CANCELLED"),
            soldOut:
              remaining !== null
                ? timeToSellOut({ startsAt: s.startsAt.getTime(), remaining, soldOutAt: c?.soldOutAt, pace, now })
                : null,
          };
        }),
      );
      emit("answers", answers.series(Math.floor(now / 1000)));
      const live: OpsTick[] = [];
      for (const [id, p] of procs) {
        if (now - p.seen < PROC_GONE_MS) live.push(p.tick);
        else procs.delete(id);
      }
      emit("health", {
        processes: live.map((t) => ({ proc: t.proc, id: t.id })),
        breakers: live.flatMap((t) => (t.breakers ?? []).map((b) => ({ ...b, proc: t.proc, id: t.id }))),
        degraded: live.reduce((sum, t) => sum + (t.degraded ?? 0), 0),
      });
    };

    const slow = async () => {
      emit("stuck", (await opsOrders(d.db, { stuck: "true", olderThanS: STUCK_AFTER_S, limit: 20 })).items);
      const now = Date.now();
      const reports: Record<string, unknown> = { ...(latest.get("audits") as Record<string, unknown> | undefined) };
      for (const s of tracked) {
        // an audit without the gate's counters fails for want of them: wait until a purchase loads the gate
        if (s.startsAt.getTime() > now || !readings.get(s.id)?.length) continue;
        const counted = {
          admitted: readings.get(s.id)?.at(-1)?.admitted ?? -1,
          orders: Object.values(byStatus.get(s.id) ?? {}).reduce((a, b) => a + b, 0),
        };
        const before = audited.get(s.id);
        if (before?.quiet && before.admitted === counted.admitted && before.orders === counted.orders) continue;
        const report = await auditSale(d.db, g, await manager(), s.id);
        if (!report) continue;
        audited.set(s.id, { ...counted, quiet: report.quiet });
        reports[s.id] = { quiet: report.quiet, invariants: report.invariants };
      }
      for (const id of Object.keys(reports)) if (!tracked.some((s) => s.id === id)) delete reports[id];
      emit("audits", reports);
    };

    const dlq = async () => {
      const jsm = await manager();
      const { state } = await jsm.streams.info("DLQ");
      // a new letter raises the last sequence, a replay lowers the count: either changes this
      const mark = state.last_seq * 1e6 + state.messages;
      if (mark === dlqSeen) return;
      const page = await deadLetters(jsm, { limit: 20 });
      dlqSeen = mark;
      emit("dlq", { total: page.total, items: page.items });
    };

    const stops = [every(1000, second), every(SLOW_EVERY_MS, slow), every(DLQ_EVERY_MS, dlq)];
    return () => {
      stopped = true;
      for (const s of stops) s();
      sub.unsubscribe();
      latest.clear();
    };
  }

  return {
    /** Sends the latest of each event at once, then every new one; returns the unsubscribe. */
    subscribe(l: Listener): () => void {
      listeners.add(l);
      for (const [event, data] of latest) l(event, data);
      stop ??= start();
      return () => {
        listeners.delete(l);
        if (listeners.size === 0 && stop) {
          stop();
          stop = undefined;
        }
      };
    },
  };
}
export type OpsFeed = ReturnType<typeof opsFeed>;
