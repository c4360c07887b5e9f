import { describe, expect, test } from "bun:test";
import { requestHash, validIdempotencyKey } from "./key";

describe("Idempotency-Key", () => {
  test("1 to 255 visible ASCII characters, '|' included", () => {
    for (const k of ["a", "a|b", "~!", "x".repeat(255), "0190f000-0000-7000-8000-000000000001"])
      expect(validIdempotencyKey(k)).toBe(true);
    for (const k of ["", " ", "a b", "x".repeat(256), "é", "a\nb", "a\tb"]) expect(validIdempotencyKey(k)).toBe(false);
  });

  test("the request hash: the same body the same hash, another body another; never a '|'", () => {
    expect(requestHash({ quantity: 1 })).toBe(requestHash({ quantity: 1 }));
    expect(requestHash({ quantity: 1 })).not.toBe(requestHash({ quantity: 2 }));
    expect(requestHash({ a: "|||" })).toMatch(/^[\w-]{43}$/);
  });
});
