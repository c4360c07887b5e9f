import { describe, expect, test } from "bun:test";
import { itemRefund } from "./refund-share";

const line = (itemId: string, price: number, quantity = 1, cancelled?: boolean) => ({
  itemId,
  price,
  quantity,
  ...(cancelled ? { cancelled } : {}),
});

/** Cancels the items one by one in the given order; returns each refund. */
function cancelAll(items: ReturnType<typeof line>[], charged: number, order: string[]) {
  let refunded = 0;
  let left = items;
  return order.map((id) => {
    const r = itemRefund(left, id, charged, refunded);
    refunded += r;
    left = left.map((i) => (i.itemId === id ? { ...i, cancelled: true } : i));
    return r;
  });
}

describe("an item's share of what was paid", () => {
  test("without a discount an item refunds its amount", () => {
    expect(itemRefund([line("a", 1000, 2), line("b", 500)], "b", 2500, 0)).toBe(500);
  });

  test("the discount is spread in proportion to the amounts: two equal items at 50% refund half each", () => {
    expect(cancelAll([line("a", 10_000), line("b", 10_000)], 10_000, ["a", "b"])).toEqual([5_000, 5_000]);
  });

  test("uneven amounts: each discount share rounded down, the last active item takes the remainder", () => {
    // 30,000 less 5,000: shares 1,666, 1,666 and the remaining 1,668
    expect(cancelAll([line("a", 10_000), line("b", 10_000), line("c", 10_000)], 25_000, ["a", "b", "c"])).toEqual([
      8_334, 8_334, 8_332,
    ]);
    // 10,000 and 30,000 (a quantity of 3) less 10%: 1,000 and 3,000 off
    expect(cancelAll([line("a", 10_000), line("b", 10_000, 3)], 36_000, ["b", "a"])).toEqual([27_000, 9_000]);
  });

  test("the refunds add up to the charge exactly, whatever the order of cancelling", () => {
    const items = [line("a", 999), line("b", 1, 7), line("c", 12_345, 2), line("d", 3)];
    const subtotal = 999 + 7 + 24_690 + 3;
    for (const charged of [subtotal, subtotal - 1, Math.floor(subtotal * 0.37), 1, 0])
      for (const order of [
        ["a", "b", "c", "d"],
        ["d", "c", "b", "a"],
        ["c", "a", "d", "b"],
      ]) {
        const refunds = cancelAll(items, charged, order);
        expect(refunds.reduce((s, r) => s + r, 0)).toBe(charged);
        expect(refunds.every((r) => r >= 0)).toBe(true);
      }
  });

  test("amounts near the money columns' limit are shared without losing precision", () => {
    const items = [line("a", 1_000_000_000, 2), line("b", 147_483_647)];
    // 2,000,000,000 less floor(1,147,483,647 x 2,000,000,000 / 2,147,483,647) = 931,322,576 (exactly)
    expect(itemRefund(items, "a", 1_000_000_000, 0)).toBe(931_322_576);
  });

  test("an unknown or already cancelled item refunds nothing", () => {
    expect(itemRefund([line("a", 100), line("b", 100, 1, true)], "b", 200, 100)).toBe(0);
    expect(itemRefund([line("a", 100)], "x", 100, 0)).toBe(0);
  });
});
