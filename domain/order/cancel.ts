// Which cancel the saga takes (machine.ts: `cancelsAll` while pending or confirmed, `cancelsOneItem` once
// confirmed): the edge asks before it sends one, so a refused cancel is answered at once.
import type { OrderStatus } from "./states";

export type Cancellable = { status: OrderStatus | string; items: { id: string; status: string }[] };
export type CancelDecision = { ok: true } | { ok: false; code: "NOT_CANCELLABLE" | "NOT_FOUND"; detail: string };

export function canCancel(order: Cancellable, itemId?: string): CancelDecision {
  if (order.status !== "PENDING" && order.status !== "CONFIRMED")
    return { ok: false, code: "NOT_CANCELLABLE", detail: `an order that is ${order.status} cannot be cancelled` };
  if (!itemId) return { ok: true };
  const item = order.items.find((i) => i.id === itemId);
  if (!item) return { ok: false, code: "NOT_FOUND", detail: "no such item" };
  if (item.status !== "ACTIVE") return { ok: false, code: "NOT_CANCELLABLE", detail: "this item is already cancelled" };
  // the saga takes one item back only from a confirmed order (cancelling the last one cancels the order)
  if (order.status === "PENDING" && order.items.filter((i) => i.status === "ACTIVE").length > 1)
    return {
      ok: false,
      code: "NOT_CANCELLABLE",
      detail: "one item can be cancelled once the order is confirmed; cancel the whole order instead",
    };
  return { ok: true };
}
