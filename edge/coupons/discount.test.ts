import { describe, expect, test } from "bun:test";
import { discountOf } from "./discount";

describe("discountOf", () => {
  test("an amount is taken off, but never more than the order", () => {
    expect(discountOf({ type: "amount", value: 3000 }, 10_000)).toBe(3000);
    expect(discountOf({ type: "amount", value: 3000 }, 2500)).toBe(2500);
  });

  test("a percentage is rounded down to the won", () => {
    expect(discountOf({ type: "percent", value: 10 }, 12_345)).toBe(1234);
    expect(discountOf({ type: "percent", value: 100 }, 999)).toBe(999);
    expect(discountOf({ type: "percent", value: 15 }, 1)).toBe(0);
  });
});
