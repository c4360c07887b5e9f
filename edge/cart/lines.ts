// A shopper's cart as the edge reads it: only products that still exist, with their price and stock now.
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { cartCheckouts, cartItems, type Db, products, stock, type Tx } from "../../db";

export async function loadCart(db: Db, userId: string) {
  const rows = await db
    .select({
      productId: cartItems.productId,
      name: products.name,
      price: products.price,
      quantity: cartItems.quantity,
      stock: sql<number>`coalesce(${stock.available}, 0)`.mapWith(Number),
    })
    .from(cartItems)
    .innerJoin(products, and(eq(products.id, cartItems.productId), isNull(products.deletedAt)))
    .leftJoin(stock, eq(stock.productId, cartItems.productId))
    .where(eq(cartItems.userId, userId))
    .orderBy(asc(cartItems.createdAt), asc(cartItems.productId));
  const items = rows.map((r) => ({ ...r, subtotal: r.price * r.quantity }));
  return { items, total: items.reduce((s, i) => s + i.subtotal, 0) };
}

/** What an order placed from the cart takes: its lines now. */
export async function cartLines(db: Db, userId: string): Promise<{ productId: string; quantity: number }[]> {
  return (await loadCart(db, userId)).items.map((i) => ({ productId: i.productId, quantity: i.quantity }));
}

/** Written with the order, so the cart loses these lines when (and only when) the order is confirmed. */
export async function recordCheckout(
  tx: Tx,
  orderId: string,
  userId: string,
  lines: { productId: string; quantity: number }[],
) {
  await tx
    .insert(cartCheckouts)
    .values({ orderId, userId, lines: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })) });
}
