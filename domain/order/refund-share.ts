// What a cancelled item gives back. Pure, so the saga stays pure and every case is walked in a unit test.

export type RefundLine = { itemId: string; price: number; quantity: number; cancelled?: boolean };

/**
 * The item's share of what was paid: its amount less its share of the discount (the discount spread over all
 * the order's items in proportion to their amounts, rounded down), never more than is left of the charge. The
 * last active item takes whatever is left, so the refunds of an order add up to its charge exactly.
 */
export function itemRefund(items: RefundLine[], itemId: string, charged: number, refunded: number): number {
  const left = Math.max(charged - refunded, 0);
  const active = items.filter((i) => !i.cancelled);
  const item = active.find((i) => i.itemId === itemId);
  if (!item) return 0;
  if (active.length === 1) return left;
  const amountOf = (i: RefundLine) => i.price * i.quantity;
  const subtotal = items.reduce((s, i) => s + amountOf(i), 0);
  const discount = Math.max(subtotal - charged, 0);
  // the product of two amounts passes 2^53: shared in BigInt
  const share = subtotal > 0 ? Number((BigInt(discount) * BigInt(amountOf(item))) / BigInt(subtotal)) : 0;
  return Math.min(amountOf(item) - share, left);
}
