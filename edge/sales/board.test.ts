// The sold-out flag against restocks, with a bus of the test's own (core NATS callbacks called by hand).
import { describe, expect, test } from "bun:test";
import { type Bus, SALE_RESTOCKED, SALE_SOLD_OUT } from "../../nats";
import { saleBoard } from "./board";

function board(remaining = async (_: string): Promise<number | undefined> => 0) {
  const subs = new Map<string, (err: unknown, m: { json(): unknown }) => void>();
  const published: string[] = [];
  const bus = {
    nc: {
      subscribe: (subject: string, o: { callback: (err: unknown, m: { json(): unknown }) => void }) =>
        void subs.set(subject, o.callback),
      publish: (subject: string) => void published.push(subject),
    },
  } as unknown as Bus;
  const b = saleBoard({ db: undefined as never, bus, flagMs: 200, remaining });
  const send = (subject: string, data: unknown) => subs.get(subject)!(null, { json: () => data });
  return { b, send, published };
}
const sale = "0193a3c2-aaaa-7bbb-8ccc-ddddeeeeffff";

describe("sold-out flag", () => {
  test("set by a sold-out answer, told to the other processes, dropped by a restock", () => {
    const { b, send, published } = board();
    b.soldOut(sale, Date.now());
    expect(b.isSoldOut(sale)).toBe(true);
    expect(published).toEqual([SALE_SOLD_OUT]);
    send(SALE_RESTOCKED, { saleId: sale, at: Date.now() });
    expect(b.isSoldOut(sale)).toBe(false);
  });

  test("a restock seen before a sold-out answer of the same millisecond or later keeps the flag down", () => {
    const { b, send } = board();
    const t = Date.now();
    send(SALE_RESTOCKED, { saleId: sale, at: t });
    b.soldOut(sale, t);
    expect(b.isSoldOut(sale)).toBe(false);
    send(SALE_SOLD_OUT, { saleId: sale, at: t - 5 });
    expect(b.isSoldOut(sale)).toBe(false);
    // restocks from several publishers out of order: the latest counts
    send(SALE_RESTOCKED, { saleId: sale, at: t - 100 });
    b.soldOut(sale, t - 50);
    expect(b.isSoldOut(sale)).toBe(false);
    b.soldOut(sale, t + 1);
    expect(b.isSoldOut(sale)).toBe(true);
  });

  test("renewed from Redis while no unit is left, dropped once one is", async () => {
    let left = 0;
    const { b } = board(async () => left);
    b.soldOut(sale, Date.now());
    await Bun.sleep(450);
    expect(b.isSoldOut(sale)).toBe(true);
    left = 1;
    await Bun.sleep(300);
    expect(b.isSoldOut(sale)).toBe(false);
  });

  test("purchases of a flagged sale are answered from memory, unless keyed (a keyed one may be a replay)", () => {
    const { b } = board();
    expect(b.purchaseShortcut(sale, false)).toBeUndefined();
    b.soldOut(sale, Date.now());
    expect(b.purchaseShortcut(sale, false)?.code).toBe("SOLD_OUT");
    expect(b.purchaseShortcut(sale, true)).toBeUndefined();
  });
});
