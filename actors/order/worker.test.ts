// The order worker on real Postgres (and a private NATS server for the sweeper): two instances racing on
// one placement, the status broadcast after commit, and deadline sweeps that do not multiply timeouts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { eq } from "drizzle-orm";
import { createDb, orderHistory, sagas, type Db } from "../../db";
import { connectBus, envelope, logger, uuidv7, type Bus, type Data } from "../../nats";
import { startPrivateNats, type PrivateNats } from "../../scripts/lib/private-stack";
import { stack } from "../../tests/harness";
import type { Incoming } from "../lib/worker";
import { orderHandler, startDeadlineSweeper } from "./worker";

let db: Db;
const log = logger({ test: "order-worker" });

beforeAll(async () => {
  db = createDb((await stack()).env.DATABASE_URL!, { max: 6 });
}, 60_000);
afterAll(async () => {
  await db?.$client.end();
});

function placement(): Data<"orders.cmd.place"> {
  const [orderId, userId, productId] = [uuidv7(), uuidv7(), uuidv7()];
  return { orderId, userId, items: [{ itemId: uuidv7(), productId, quantity: 1, price: 1000 }], total: 1000, discount: 0, paymentMethod: "card_ok" };
}
const incoming = (data: Data<"orders.cmd.place">): Incoming => ({ env: envelope("orders.cmd.place", data) });

describe("order worker", () => {
  test("two instances handling two copies of one placement start one saga and reserve once", async () => {
    const handle = orderHandler({ paymentDeadlineMs: 30_000, log });
    const data = placement();
    let commitA!: () => void;
    const held = new Promise<void>((r) => (commitA = r));
    const a = db.transaction(async (tx) => {
      const out = await handle(tx, [incoming(data)], () => {});
      await held; // instance A has written the saga and not committed yet
      return out;
    });
    await Bun.sleep(100);
    const b = db.transaction((tx) => handle(tx, [incoming(data)], () => {})).then(
      (out) => ({ out }),
      (err: Error) => ({ err }),
    );
    await Bun.sleep(300); // B is now waiting on A's rows
    commitA();
    const outA = await a;
    const rB = await b;
    let reserves = outA.filter((o) => o.msg.type === "inventory.cmd.reserve").length;
    if ("err" in rB) {
      // the batch is retried: the placement is now a duplicate
      const again = await db.transaction((tx) => handle(tx, [incoming(data)], () => {}));
      expect(again).toEqual([]);
    } else reserves += rB.out.filter((o) => o.msg.type === "inventory.cmd.reserve").length;
    expect(reserves).toBe(1);
    const history = await db.select().from(orderHistory).where(eq(orderHistory.orderId, data.orderId));
    expect(history.map((h) => h.status)).toEqual(["PENDING"]);
  });

  test("status changes are handed over for after the commit, not sent from inside the transaction", async () => {
    const seen: { orderId: string; status: string }[] = [];
    const handle = orderHandler({ paymentDeadlineMs: 30_000, log, onStatus: (c) => seen.push(...c) });
    const data = placement();
    const after: (() => void)[] = [];
    await db.transaction((tx) => handle(tx, [incoming(data)], (fn) => after.push(fn)));
    expect(after).toHaveLength(0); // PENDING is the order's first status, not a change
    const rejected = { env: envelope("inventory.evt.rejected", { orderId: data.orderId, reason: "OUT_OF_STOCK" }) } as Incoming;
    await db.transaction((tx) => handle(tx, [rejected], (fn) => after.push(fn)));
    expect(seen).toEqual([]);
    for (const fn of after) fn();
    expect(seen).toEqual([{ orderId: data.orderId, status: "CANCELLED" }]);
  });
});

describe("deadline sweeper", () => {
  let nats: PrivateNats | undefined;
  let bus: Bus;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startPrivateNats("sweeper-test");
    nc = nats.nc;
    bus = await connectBus(nats.url, "sweeper-test");
  });
  afterAll(async () => {
    await bus?.nc.close();
    await nats?.stop();
  });

  test("two sweepers sweeping many times send one timeout per passed deadline", async () => {
    const orderId = uuidv7();
    await db.insert(sagas).values({ orderId, state: "charging", snapshot: {}, deadlineAt: new Date(Date.now() - 1000) });
    const firstMinute = Math.floor(Date.now() / 60_000);
    const stops = [startDeadlineSweeper(db, bus.js, log, 20), startDeadlineSweeper(db, bus.js, log, 20)];
    await Bun.sleep(400);
    await Promise.all(stops.map((s) => s()));
    // a timeout's message id holds the minute it was sent in: sweeps on both sides of a minute send it twice
    const minutes = Math.floor(Date.now() / 60_000) - firstMinute + 1;
    await db.delete(sagas).where(eq(sagas.orderId, orderId));
    // the sweepers see every passed deadline of this database: count this order's timeouts only
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info("ORDERS");
    let mine = 0;
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage("ORDERS", { seq });
      if (m?.subject === "orders.cmd.timeout" && m.json<{ orderId: string }>().orderId === orderId) mine++;
    }
    expect(mine).toBeGreaterThanOrEqual(1);
    expect(mine).toBeLessThanOrEqual(minutes);
  });
});
