// A sale's audit, pure: the counts and each invariant with pass or fail, from the facts audit.ts gathers from
// Postgres, the gate and the DLQ.
import { ORDER_STATUSES, type OrderStatus, SOLD_STATUSES } from "../../domain/order";
import type { Gate } from "../../domain/sale";

export type SaleFacts = {
  sale: { quantity: number; perUserLimit: number };
  /** Orders and units of the sale by order status. */
  byStatus: { status: OrderStatus; orders: number; units: number }[];
  /** The most units one shopper holds in orders not cancelled. */
  perUserMax: number | null;
  /** sale_stock.available: units Postgres has not given to an order; undefined without the row. */
  unitsNotTaken: number | undefined;
  /** Payments: refunded over their amount, cancelled orders approved and not refunded, orders charged twice. */
  money: { overRefunded: number; unrefunded: number; doubled: number } | undefined;
  /** The gate's counters; undefined when Redis does not hold the sale. */
  gate: Awaited<ReturnType<Gate["counters"]>>;
  holds: number;
  /** Holds the sweeper gave up (their order never reached Postgres). */
  abandoned: number;
  /** Placements of the sale the order actor dead-lettered; undefined when the DLQ cannot be read. */
  deadPlacements: number | undefined;
};

export function invariants(f: SaleFacts) {
  const { sale, gate: counters, money } = f;
  const pick = (st: readonly string[], k: "units" | "orders") =>
    f.byStatus.filter((r) => st.includes(r.status)).reduce((n, r) => n + r[k], 0);
  const pending = pick(["PENDING"], "units");
  const confirmed = pick(SOLD_STATUSES, "units");
  const cancelled = pick(["CANCELLED"], "units");
  const inPostgres = pick(ORDER_STATUSES, "orders");
  const remaining = counters?.remaining;
  const available = f.unitsNotTaken;
  const perUser = f.perUserMax ?? 0;
  const dead = f.deadPlacements;
  // quiet: every admitted purchase is an order row, none is in flight, and no refund is still on its way
  // (a payment approved after its order timed out is refunded by the saga a moment later)
  const quiet = pending === 0 && f.holds === inPostgres + f.abandoned && (money?.unrefunded ?? 0) === 0;
  const check = (pass: boolean, detail: string) => ({ pass, detail });

  return {
    quantity: sale.quantity,
    perUserLimit: sale.perUserLimit,
    remaining: remaining ?? null,
    pending,
    confirmed,
    cancelled,
    orders: inPostgres,
    unitsNotTakenInPostgres: available ?? null,
    perUserMax: perUser,
    admitted: counters?.admitted ?? null,
    abandonedHolds: f.abandoned,
    deadLetteredPlacements: dead ?? null,
    soldOutAnswers: counters?.soldOutAnswers ?? null,
    soldOutAt: counters?.soldOutAt ? new Date(counters.soldOutAt) : null,
    lastRestockAt: counters?.lastRestockAt ? new Date(counters.lastRestockAt) : null,
    quiet,
    invariants: {
      noOversell: check(
        confirmed <= sale.quantity && (available ?? 0) >= 0,
        `confirmed ${confirmed} <= quantity ${sale.quantity}`,
      ),
      unitsAccountedFor: check(
        remaining === undefined ? false : remaining + pending + confirmed === sale.quantity,
        `remaining ${remaining ?? "?"} + pending ${pending} + confirmed ${confirmed} = quantity ${sale.quantity}${quiet ? "" : " (pipeline not quiet yet)"}`,
      ),
      postgresUnits: check(
        available !== undefined &&
          (quiet ? available + confirmed === sale.quantity : available + pending + confirmed >= sale.quantity),
        `units not taken in postgres ${available ?? "?"} + confirmed ${confirmed}${quiet ? ` = quantity ${sale.quantity}` : ` + pending ${pending} >= quantity ${sale.quantity}`}`,
      ),
      perUserLimit: check(perUser <= sale.perUserLimit, `max per shopper ${perUser} <= ${sale.perUserLimit}`),
      noDoubleCharge: check(
        (money?.doubled ?? 0) === 0 && (money?.overRefunded ?? 0) === 0 && (!quiet || (money?.unrefunded ?? 0) === 0),
        `orders charged twice ${money?.doubled ?? 0}, refunded over charge ${money?.overRefunded ?? 0}, cancelled but not refunded ${money?.unrefunded ?? 0}`,
      ),
      everyOrderSettled: check(pending === 0, `${pick(["PENDING"], "orders")} orders still pending`),
      everyAdmittedOrderRecorded: check(
        counters === undefined ? false : f.holds === inPostgres + f.abandoned,
        `gate holds ${f.holds} = orders ${inPostgres} + abandoned holds ${f.abandoned}`,
      ),
      noPlacementDeadLettered: check(
        dead === 0,
        `placements dead-lettered (admitted, never written) ${dead ?? "? (the DLQ could not be read)"}`,
      ),
      noRefusalWhileStockRemained: check(
        remaining === undefined
          ? false
          : !(remaining > 0 && (counters?.lastSoldOutAt ?? 0) > (counters?.lastRestockAt ?? Infinity)),
        "no SOLD_OUT answer from the gate after the last units came back while units remain",
      ),
    },
  };
}
