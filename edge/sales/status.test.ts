import { expect, test } from "bun:test";
import { saleStatus } from "./status";

test("scheduled before the start, ended from the end on, sold out with nothing left, live otherwise", () => {
  const t = { startsAt: 1000, endsAt: 2000 };
  expect(saleStatus(t, 5, 999)).toBe("scheduled");
  expect(saleStatus(t, 0, 999)).toBe("scheduled");
  expect(saleStatus(t, 5, 1000)).toBe("live");
  expect(saleStatus(t, 0, 1500)).toBe("sold_out");
  expect(saleStatus(t, 0, 2000)).toBe("ended");
  expect(saleStatus({ startsAt: 1000, endsAt: null }, 1, 10 ** 13)).toBe("live");
  // what remains unknown (the gate not in Redis): not said to be sold out
  expect(saleStatus(t, null, 1500)).toBe("live");
  expect(saleStatus(t, undefined, 1500)).toBe("live");
});
