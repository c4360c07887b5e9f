import { describe, expect, test } from "bun:test";
import { isPermanent, retryDelayMs } from "./backoff";

describe("retryDelayMs", () => {
  const o = { baseMs: 1000, maxMs: 30_000 };
  test("doubles from the base, between half and all of it", () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, o, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, o, () => 0))).toEqual([500, 1000, 2000, 4000]);
  });
  test("never past the cap, however many attempts", () => {
    expect(retryDelayMs(6, o, () => 1)).toBe(30_000);
    expect(retryDelayMs(1000, o, () => 1)).toBe(30_000);
    expect(retryDelayMs(1000, o, () => 0)).toBe(15_000);
  });
});

describe("isPermanent", () => {
  test("a 5xx reply is final; 4xx, connection errors and anything else are retried", () => {
    expect(isPermanent({ responseCode: 550 })).toBe(true);
    expect(isPermanent({ responseCode: 451 })).toBe(false);
    expect(isPermanent(Object.assign(new Error("connect ECONNREFUSED"), { code: "ESOCKET" }))).toBe(false);
    expect(isPermanent(null)).toBe(false);
  });
});
