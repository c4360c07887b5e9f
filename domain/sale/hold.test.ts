import { describe, expect, test } from "bun:test";
import { decodeHold, encodeHold, idemField } from "./hold";

describe("hold codec", () => {
  test("a hold round-trips, with an Idempotency-Key holding '|' kept in one field", () => {
    const idem = idemField("u1", "a|b|c");
    expect(idem).toBe("u1:a%7Cb%7Cc");
    const h = { state: "P" as const, userId: "u1", qty: 2, at: 1700000000000, idem, itemId: "i1" };
    const v = encodeHold(h);
    expect(v).toBe("P|u1|2|1700000000000|u1:a%7Cb%7Cc|i1");
    expect(decodeHold("o1", v)).toEqual({ orderId: "o1", ...h });
  });

  test("a hold without a key has an empty field", () => {
    expect(
      decodeHold("o1", encodeHold({ state: "R", userId: "u", qty: 1, at: 5, idem: "", itemId: "i" })),
    ).toMatchObject({ state: "R", idem: "", itemId: "i" });
  });
});
