// The audit's invariants without any service, as machine.test.ts walks the saga: a sale that went right, then
// each way one can go wrong.
import { describe, expect, test } from "bun:test";
import { invariants, type SaleFacts } from "./invariants";

/** 50 units: 40 confirmed, 5 cancelled (given back), 10 left; every hold an order row. */
const good = (): SaleFacts => ({
  sale: { quantity: 50, perUserLimit: 2 },
  byStatus: [
    { status: "CONFIRMED", orders: 30, units: 30 },
    { status: "SHIPPED", orders: 10, units: 10 },
    { status: "CANCELLED", orders: 5, units: 5 },
  ],
  perUserMax: 2,
  unitsNotTaken: 10,
  money: { overRefunded: 0, unrefunded: 0, doubled: 0 },
  gate: {
    remaining: 10,
    quantity: 50,
    admitted: 45,
    released: 5,
    soldOutAnswers: 0,
    soldOutAt: undefined,
    lastSoldOutAt: undefined,
    lastRestockAt: undefined,
  },
  holds: 45,
  abandoned: 0,
  deadPlacements: 0,
});
const failing = (f: SaleFacts) =>
  Object.entries(invariants(f).invariants)
    .filter(([, c]) => !c.pass)
    .map(([k]) => k);

describe("sale audit invariants", () => {
  test("a sale that went right: quiet, every invariant passes, the counts add up", () => {
    const r = invariants(good());
    expect(failing(good())).toEqual([]);
    expect(r).toMatchObject({
      quiet: true,
      pending: 0,
      confirmed: 40,
      cancelled: 5,
      orders: 45,
      remaining: 10,
      unitsNotTakenInPostgres: 10,
      perUserMax: 2,
    });
    expect(r.invariants.unitsAccountedFor.detail).toBe("remaining 10 + pending 0 + confirmed 40 = quantity 50");
  });

  test("oversold: more confirmed than the quantity", () => {
    const f = good();
    f.byStatus[0]!.units = 41;
    f.byStatus[0]!.orders = 41;
    f.holds = 56;
    expect(failing(f)).toEqual(["noOversell", "unitsAccountedFor", "postgresUnits"]);
  });

  test("orders in flight: not quiet; Postgres's units only need to cover the pending ones", () => {
    const f = good();
    f.byStatus.push({ status: "PENDING", orders: 2, units: 2 });
    f.gate!.remaining = 8;
    f.holds = 47;
    const r = invariants(f);
    expect(r.quiet).toBe(false);
    expect(failing(f)).toEqual(["everyOrderSettled"]);
    expect(r.invariants.everyOrderSettled.detail).toBe("2 orders still pending");
    expect(r.invariants.postgresUnits.detail).toBe(
      "units not taken in postgres 10 + confirmed 40 + pending 2 >= quantity 50",
    );
  });

  test("a shopper over the limit; a payment taken twice or over-refunded", () => {
    expect(failing({ ...good(), perUserMax: 3 })).toEqual(["perUserLimit"]);
    expect(failing({ ...good(), money: { overRefunded: 0, unrefunded: 0, doubled: 1 } })).toEqual(["noDoubleCharge"]);
    expect(failing({ ...good(), money: { overRefunded: 1, unrefunded: 0, doubled: 0 } })).toEqual(["noDoubleCharge"]);
  });

  test("a cancelled order not refunded yet keeps the sale from being quiet, without failing", () => {
    const r = invariants({ ...good(), money: { overRefunded: 0, unrefunded: 1, doubled: 0 } });
    expect(r.quiet).toBe(false);
    expect(r.invariants.noDoubleCharge.pass).toBe(true);
  });

  test("an admitted purchase that never became an order, unless its hold was given up", () => {
    expect(failing({ ...good(), holds: 46 })).toEqual(["everyAdmittedOrderRecorded"]);
    expect(failing({ ...good(), holds: 46, abandoned: 1 })).toEqual([]);
  });

  test("a placement dead-lettered, or a DLQ that cannot be read", () => {
    expect(failing({ ...good(), deadPlacements: 1 })).toEqual(["noPlacementDeadLettered"]);
    const unknown = invariants({ ...good(), deadPlacements: undefined });
    expect(unknown.deadLetteredPlacements).toBeNull();
    expect(unknown.invariants.noPlacementDeadLettered).toEqual({
      pass: false,
      detail: "placements dead-lettered (admitted, never written) ? (the DLQ could not be read)",
    });
  });

  test("without the gate's counters the gate's invariants cannot pass", () => {
    expect(failing({ ...good(), gate: undefined })).toEqual([
      "unitsAccountedFor",
      "everyAdmittedOrderRecorded",
      "noRefusalWhileStockRemained",
    ]);
    expect(failing({ ...good(), unitsNotTaken: undefined })).toEqual(["postgresUnits"]);
  });

  test("SOLD_OUT answered after units came back while units remain", () => {
    const f = good();
    f.gate = { ...f.gate!, lastRestockAt: 1_000, lastSoldOutAt: 2_000 };
    expect(failing(f)).toEqual(["noRefusalWhileStockRemained"]);
    f.gate = { ...f.gate, lastSoldOutAt: 500 };
    expect(failing(f)).toEqual([]);
  });
});
