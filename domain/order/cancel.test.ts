// canCancel against the machine itself: what the edge lets through is what the saga acts on, and the reverse.
import { describe, expect, test } from "bun:test";
import { canCancel } from "./cancel";
import { orderSaga, type SagaEvent } from "./machine";
import { applyEvent, type Step, startSaga } from "./saga";
import { RESTING_STATES, SAGA_STATES } from "./states";

const orderId = "0190f000-0000-7000-8000-000000000001";
const itemA = "0190f000-0000-7000-8000-00000000000a";
const itemB = "0190f000-0000-7000-8000-00000000000b";
const product = "0190f000-0000-7000-8000-0000000000f0";

function start(items = [itemA, itemB]) {
  return startSaga({
    orderId,
    userId: "0190f000-0000-7000-8000-0000000000aa",
    items: items.map((itemId) => ({ itemId, productId: product, quantity: 1, price: 1000 })),
    total: 1000 * items.length,
    discount: 0,
    paymentMethod: "card_ok",
    at: 0,
    paymentDeadlineMs: 30_000,
  });
}
const step = (s: Step, e: Omit<SagaEvent, "at">) => applyEvent(s.snapshot, { at: 1, ...e } as SagaEvent);
const view = (s: Step) => ({
  status: s.context.status,
  items: s.context.items.map((i) => ({ id: i.itemId, status: i.cancelled ? "CANCELLED" : "ACTIVE" })),
});
const cancel = (itemId?: string) =>
  ({ type: "orders.cmd.cancel", data: { orderId, ...(itemId ? { itemId } : {}) } }) as const;

function agrees(s: Step, itemId?: string) {
  const allowed = canCancel(view(s), itemId).ok;
  const taken = step(s, cancel(itemId)).handled;
  expect({ state: s.state, itemId, allowed }).toEqual({ state: s.state, itemId, allowed: taken });
}

describe("canCancel", () => {
  const pending = start();
  const charging = step(pending, { type: "inventory.evt.reserved", data: { orderId } });
  const confirmed = step(charging, { type: "payments.evt.approved", data: { orderId, amount: 2000 } });
  const oneLeft = step(confirmed, cancel(itemA));
  const shipped = step(confirmed, { type: "orders.cmd.ship", data: { orderId } });
  const compensating = step(confirmed, cancel());

  test("the whole order: while pending or confirmed, as the machine", () => {
    for (const s of [pending, charging, confirmed, oneLeft, shipped]) agrees(s);
    // a cancel already under way: the order reads CONFIRMED until its compensations end, and a repeat is a no-op
    expect(compensating.state).toBe("compensating");
    expect(canCancel(view(compensating)).ok).toBe(true);
    expect(step(compensating, cancel()).handled).toBe(false);
    expect(canCancel(view(shipped))).toEqual({
      ok: false,
      code: "NOT_CANCELLABLE",
      detail: "an order that is SHIPPED cannot be cancelled",
    });
  });

  test("one item: once confirmed, or the last one of a pending order, as the machine", () => {
    for (const s of [pending, charging, confirmed, oneLeft, shipped]) for (const id of [itemA, itemB]) agrees(s, id);
    agrees(start([itemA]), itemA);
    expect(canCancel(view(pending), itemA)).toMatchObject({ ok: false, code: "NOT_CANCELLABLE" });
    expect(canCancel(view(oneLeft), itemA)).toEqual({
      ok: false,
      code: "NOT_CANCELLABLE",
      detail: "this item is already cancelled",
    });
    expect(canCancel(view(confirmed), "0190f000-0000-7000-8000-00000000000c")).toEqual({
      ok: false,
      code: "NOT_FOUND",
      detail: "no such item",
    });
  });
});

describe("state lists", () => {
  test("SAGA_STATES are the machine's states; the resting ones among them", () => {
    expect<string[]>([...SAGA_STATES].sort()).toEqual(Object.keys(orderSaga.config.states!).sort());
    for (const s of RESTING_STATES) expect(SAGA_STATES).toContain(s);
  });
});
