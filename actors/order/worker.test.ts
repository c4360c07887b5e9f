// The order worker on real Postgres (and a private NATS server for the sweeper): two instances racing on
// one placement, the status broadcast after commit, and deadline sweeps that do not multiply timeouts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { eq } from "drizzle-orm";
import { createDb, type Db, orderHistory, orders, sagas } from "../../db";
import { type Bus, connectBus, type Data, envelope, logger, uuidv7 } from "../../nats";
import { type PrivateNats, startPrivateNats } from "../../scripts/lib/private-stack";
import { client } from "../../tests/client";
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
  return {
    orderId,
    userId,
    items: [{ itemId: uuidv7(), productId, quantity: 1, price: 1000 }],
    total: 1000,
    discount: 0,
    paymentMethod: "card_ok",
  };
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
    const b = db
      .transaction((tx) => handle(tx, [incoming(data)], () => {}))
      .then(
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
    const rejected = {
      env: envelope("inventory.evt.rejected", { orderId: data.orderId, reason: "OUT_OF_STOCK" }),
    } as Incoming;
    await db.transaction((tx) => handle(tx, [rejected], (fn) => after.push(fn)));
    expect(seen).toEqual([]);
    for (const fn of after) fn();
    expect(seen).toEqual([{ orderId: data.orderId, status: "CANCELLED" }]);
  });
});

describe("postgres backs the flash-sale gate", () => {
  test("a placement past the shopper's limit, past the sale's units or of a key that has its order is cancelled at once, in batch order", async () => {
    const s = await stack();
    const api = client(s.edgeUrl);
    const seller = await api.user("seller");
    const product = await api.product(seller.token, 1000, 10);
    const sale = await api.call("POST", "/v1/sales", {
      token: seller.token,
      body: {
        productId: product.id,
        price: 1000,
        quantity: 2,
        perUserLimit: 1,
        startsAt: new Date(Date.now() - 1000).toISOString(),
      },
    });
    expect(sale.status).toBe(201);
    // what a gate that forgot its last writes (a failed-over primary) might admit: 4 placements for 2 units
    const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()];
    const buy = (userId: string): Data<"orders.cmd.place"> => ({
      ...placement(),
      userId,
      saleId: sale.body.id as string,
      items: [{ itemId: uuidv7(), productId: product.id as string, quantity: 1, price: 1000 }],
    });
    const first = [buy(a), buy(a)];
    const second = [buy(b), buy(c)];
    const handle = orderHandler({ paymentDeadlineMs: 30_000, log });
    const out1 = await db.transaction((tx) => handle(tx, first.map(incoming), () => {}));
    const out2 = await db.transaction((tx) => handle(tx, second.map(incoming), () => {}));
    const status = async (id: string) => (await db.select().from(orders).where(eq(orders.id, id)))[0];
    expect(await status(first[0]!.orderId)).toMatchObject({ status: "PENDING" });
    expect(await status(first[1]!.orderId)).toMatchObject({ status: "CANCELLED", reason: "LIMIT_REACHED" });
    expect(await status(second[0]!.orderId)).toMatchObject({ status: "PENDING" });
    expect(await status(second[1]!.orderId)).toMatchObject({ status: "CANCELLED", reason: "OUT_OF_STOCK" });
    // the refused ones take no step: no reservation asked, the cancellation announced
    expect([...out1, ...out2].map((o) => [o.msg.type, (o.msg.data as { orderId: string }).orderId])).toEqual([
      ["inventory.cmd.reserve", first[0]!.orderId],
      ["orders.evt.cancelled", first[1]!.orderId],
      ["inventory.cmd.reserve", second[0]!.orderId],
      ["orders.evt.cancelled", second[1]!.orderId],
    ]);
    const history = await db.select().from(orderHistory).where(eq(orderHistory.orderId, first[1]!.orderId));
    expect(history.map((h) => h.status).sort()).toEqual(["CANCELLED", "PENDING"]);

    // a key that has its order buys nothing more: a retry whose first answer was lost, at a gate that forgot the
    // key, in the same batch or a later one
    const e = uuidv7();
    const keyed = () => ({ ...buy(e), idempotency: { key: "k-1", requestHash: "h" } });
    const third = [keyed(), keyed()];
    const fourth = [keyed()];
    await db.transaction((tx) => handle(tx, third.map(incoming), () => {}));
    await db.transaction((tx) => handle(tx, fourth.map(incoming), () => {}));
    expect(await status(third[0]!.orderId)).toMatchObject({ status: "CANCELLED", reason: "OUT_OF_STOCK" });
    expect(await status(third[1]!.orderId)).toMatchObject({ status: "CANCELLED", reason: "DUPLICATE_PURCHASE" });
    expect(await status(fourth[0]!.orderId)).toMatchObject({ status: "CANCELLED", reason: "DUPLICATE_PURCHASE" });
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
    await db
      .insert(sagas)
      .values({ orderId, state: "charging", snapshot: {}, deadlineAt: new Date(Date.now() - 1000) });
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
