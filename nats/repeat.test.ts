import { expect, test } from "bun:test";
import { repeat } from "./repeat";

test("repeat: passes on, a failed pass logged and the loop going on; stop waits for the pass, not the pause", async () => {
  const seen: string[] = [];
  let n = 0;
  const stop = repeat(
    10,
    async () => {
      n++;
      if (n === 2) throw new Error("boom");
      seen.push(`pass ${n}`);
    },
    (err) => seen.push(`failed: ${(err as Error).message}`),
  );
  while (n < 4) await Bun.sleep(5);
  const before = Date.now();
  await stop();
  expect(Date.now() - before).toBeLessThan(50);
  const after = n;
  await Bun.sleep(40);
  expect(n).toBe(after);
  expect(seen.slice(0, 4)).toEqual(["pass 1", "failed: boom", "pass 3", "pass 4"]);
});

test("repeat: a long pause is cut short by stop", async () => {
  const stop = repeat(
    60_000,
    async () => {},
    () => {},
  );
  await Bun.sleep(5);
  const before = Date.now();
  await stop();
  expect(Date.now() - before).toBeLessThan(50);
});
