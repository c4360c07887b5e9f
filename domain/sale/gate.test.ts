// The gate's scripts and hold.ts spell the same layouts: what the Lua writes on a real (private) Redis is read
// back with hold.ts's decoders, field by field, an Idempotency-Key holding '|' included. And a keyed retry is
// answered within the placement window only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { scratchRedis } from "../../tests/harness";
import { gate, PLACEMENT_WINDOW_MS, saleKeys } from "./gate";
import { decodeHold, encodeIdem, idemField } from "./hold";

let server: Awaited<ReturnType<typeof scratchRedis>> | undefined;
let redis: Redis;

beforeAll(async () => {
  server = await scratchRedis("gate-layout-test");
  redis = new Redis(server.port, "127.0.0.1");
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("the gate's Redis layout", () => {
  test("a purchase's hold and idempotency entry, as the Lua writes them, decode with hold.ts", async () => {
    const g = gate(redis);
    const saleId = crypto.randomUUID();
    await g.load(saleId, {
      remaining: 5,
      limit: 2,
      quantity: 5,
      startsAt: 0,
      endsAt: 0,
      expireAt: Date.now() + 3_600_000,
      seq: 0,
      users: {},
      holds: {},
      idem: {},
    });
    const r = await g.purchase({
      saleId,
      userId: "u1",
      qty: 2,
      orderId: "o1",
      itemId: "i1",
      idemKey: "key|with|bars",
      requestHash: "h1",
      now: 1_700_000_000_000,
    });
    expect(r).toMatchObject({ ok: true, orderId: "o1", itemId: "i1", remaining: 3 });
    const [, , holdsKey, idemKey] = saleKeys(saleId);
    expect(decodeHold("o1", (await redis.hget(holdsKey, "o1"))!)).toEqual({
      orderId: "o1",
      state: "P",
      userId: "u1",
      qty: 2,
      at: 1_700_000_000_000,
      idem: idemField("u1", "key|with|bars"),
      itemId: "i1",
    });
    expect(await redis.hget(idemKey, idemField("u1", "key|with|bars"))).toBe(
      encodeIdem({ orderId: "o1", itemId: "i1", requestHash: "h1" }),
    );
    expect(await g.holds(saleId)).toEqual([expect.objectContaining({ orderId: "o1", state: "P", qty: 2 })]);
  });

  test("a keyed retry may publish its placement only within the window of its hold; past it, it waits (BUSY)", async () => {
    const g = gate(redis);
    const saleId = crypto.randomUUID();
    await g.load(saleId, {
      remaining: 5,
      limit: 5,
      quantity: 5,
      startsAt: 0,
      endsAt: 0,
      expireAt: Date.now() + 3_600_000,
      seq: 0,
      users: {},
      holds: {},
      idem: {},
    });
    const at = 1_700_000_000_000;
    const buy = (now: number, key = "k", orderId = "o1") =>
      g.purchase({ saleId, userId: "u1", qty: 1, orderId, itemId: "i", idemKey: key, requestHash: "h", now });
    expect(await buy(at)).toMatchObject({ ok: true, replayed: false, placeBy: at + PLACEMENT_WINDOW_MS });
    // the edge that took it may still be publishing: a retry within the window publishes by the same time
    expect(await buy(at + PLACEMENT_WINDOW_MS - 1, "k", "o2")).toEqual({
      ok: true,
      orderId: "o1",
      itemId: "i",
      replayed: true,
      placeBy: at + PLACEMENT_WINDOW_MS,
    });
    // past it, the hold sweeper may be giving it up: nothing publishes it any more
    expect(await buy(at + PLACEMENT_WINDOW_MS, "k", "o3")).toEqual({
      ok: false,
      code: "BUSY",
      orderId: "o1",
      itemId: "i",
    });
    // once Postgres has the order, a retry is answered at any time, without a bound
    await g.mark(saleId, "P", "S", ["o1"]);
    expect(await buy(at + 3_600_000, "k", "o4")).toEqual({ ok: true, orderId: "o1", itemId: "i", replayed: true });
  });
});
