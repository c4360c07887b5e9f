// A gate a failover left behind, repaired from Postgres's holds on a real (private) Redis: forgotten purchases
// come back, forgotten releases are made, what only Redis knows stays, and a release is never undone.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { encodeHold, type GateLoad, gate } from "../../domain/sale";
import { scratchRedis } from "../../tests/harness";
import { disagreement } from "./repair";

let server: Awaited<ReturnType<typeof scratchRedis>> | undefined;
let redis: Redis;

beforeAll(async () => {
  server = await scratchRedis("gate-repair-test");
  redis = new Redis(server.port, "127.0.0.1");
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const hold = (state: "P" | "S" | "R", user: string, qty = 1) =>
  encodeHold({ state, userId: user, qty, at: 1000, idem: "", itemId: `item-${user}` });
const load = (holds: Record<string, string>, o: Partial<GateLoad> = {}): GateLoad => ({
  remaining: 10,
  limit: 2,
  quantity: 10,
  startsAt: 0,
  endsAt: 0,
  expireAt: Date.now() + 3_600_000,
  seq: 0,
  users: {},
  holds,
  idem: {},
  ...o,
});

describe("gate repair", () => {
  test("a forgotten purchase comes back, a forgotten release is made, a placement still on its way stays", async () => {
    const g = gate(redis);
    const saleId = crypto.randomUUID();
    // what the promoted replica had: o1 (seen) and o4 (given back); since then o3 was admitted (not in Postgres yet)
    await g.load(
      saleId,
      load({ o1: hold("S", "u1"), o4: hold("R", "u4") }, { remaining: 9, users: { u1: 1 }, seq: 2 }),
    );
    const r = await g.purchase({ saleId, userId: "u3", qty: 2, orderId: "o3", itemId: "i3" });
    expect(r.ok).toBe(true);
    // Postgres: o1, o2 (forgotten by the gate) and o5, refused by the order actor, which the gate still counts
    await redis.hset(`sale:{${saleId}}:holds`, "o5", hold("S", "u5"));
    const postgres = { o1: hold("S", "u1"), o2: hold("S", "u2", 2), o4: hold("S", "u4"), o5: hold("R", "u5") };
    expect(disagreement(postgres, await g.holds(saleId), true)).toContain("o2");

    expect(await g.repair(saleId, load(postgres, { seq: 4 }))).toEqual({ before: 7, after: 5 });
    const holds = Object.fromEntries((await g.holds(saleId)).map((h) => [h.orderId, h.state]));
    // o4 stays released: Postgres had not recorded its release yet when it was read
    expect(holds).toEqual({ o1: "S", o2: "S", o3: "P", o4: "R", o5: "R" });
    expect(await g.users(saleId)).toEqual({ u1: 1, u2: 2, u3: 2 });
    expect((await g.counters(saleId))?.admitted).toBe(4);
    expect(disagreement(postgres, await g.holds(saleId), true)).toBeUndefined();
    // the repaired gate decides as before: u2 is at the limit
    expect(await g.purchase({ saleId, userId: "u2", qty: 1, orderId: "o6", itemId: "i6" })).toEqual({
      ok: false,
      code: "LIMIT_REACHED",
    });
  });

  test("a gate that is not loaded is left to the rebuild", async () => {
    expect(await gate(redis).repair(crypto.randomUUID(), load({}))).toBeUndefined();
  });

  test("a release on its way to the gate is no disagreement until the releases have arrived", () => {
    const gateHolds = [{ orderId: "o1", state: "S" as const, userId: "u1", qty: 1, at: 0, idem: "", itemId: "i1" }];
    expect(disagreement({ o1: hold("R", "u1") }, gateHolds, false)).toBeUndefined();
    expect(disagreement({ o1: hold("R", "u1") }, gateHolds, true)).toContain("given back");
    expect(disagreement({}, gateHolds, true)).toBeUndefined(); // only Redis knows it: on its way to Postgres
  });
});
