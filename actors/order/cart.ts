// Carts lose what an order took only once that order is confirmed: a declined or cancelled order leaves
// the cart as it was. The lines come from the checkout row the edge wrote with the order. The saga's
// worker does this in the transaction that records the status change, so it happens once with it.
import { inArray, sql } from "drizzle-orm";
import { cartCheckouts, cartItems, type Tx } from "../../db";

/** Subtracts each confirmed order's lines from its shopper's cart (a line added since stays). */
export async function takeOutOfCarts(tx: Tx, orderIds: string[]) {
  if (!orderIds.length) return;
  // one statement: the delete and the update see the same snapshot and touch disjoint rows
  await tx.execute(sql`
    with done as (
      delete from ${cartCheckouts} where order_id = any(${sql.param(orderIds)}::uuid[]) returning user_id, lines
    ), taken as (
      select d.user_id, (l->>'productId')::uuid as product_id, sum((l->>'quantity')::int) as q
      from done d, jsonb_array_elements(d.lines) l group by 1, 2
    ), emptied as (
      delete from ${cartItems} i using taken t
      where i.user_id = t.user_id and i.product_id = t.product_id and i.quantity <= t.q
      returning 1
    )
    update ${cartItems} i set quantity = i.quantity - t.q, updated_at = now()
    from taken t
    where i.user_id = t.user_id and i.product_id = t.product_id and i.quantity > t.q`);
}

/** A cancelled order's checkout is forgotten; its cart was never touched. */
export async function forgetCheckouts(tx: Tx, orderIds: string[]) {
  if (orderIds.length) await tx.delete(cartCheckouts).where(inArray(cartCheckouts.orderId, orderIds));
}
