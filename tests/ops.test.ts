// Ops endpoints over HTTP: dead letters listed with what went wrong, replayed once to their subject with
// their envelope; orders by saga state, and the stuck ones with what their compensation still awaits.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { eq, sql } from "drizzle-orm";
import { createDb, type Db, orderHistory, orders, refunds, sagas } from "../db";
import { envelope, uuidv7 } from "../nats";
import { client, eventually, type Res } from "./client";
import { admin, fileDeadLetter, stack } from "./harness";

let api: ReturnType<typeof client>;
let db: Db;
let nc: NatsConnection;
let js: JetStreamClient;
let adminToken: string;
type User = Awaited<ReturnType<typeof api.user>>;
let seller: User, shopper: User;

beforeAll(async () => {
  const s = await stack();
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  nc = await connect({ servers: s.env.NATS_URL });
  js = jetstream(nc);
  adminToken = await api.login(admin.email, admin.password);
  [seller, shopper] = await Promise.all([api.user("seller"), api.user("shopper")]);
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await db?.$client.end();
});

type Letter = {
  id: number;
  subject: string;
  consumer: string;
  deliveries: number;
  error: string;
  at: string;
  messageId?: string;
  orderId?: string;
};
async function letters(): Promise<Letter[]> {
  const all: Letter[] = [];
  let cursor: number | null = null;
  do {
    const r: Res = await api.call("GET", `/v1/ops/dlq?limit=100${cursor !== null ? `&cursor=${cursor}` : ""}`, {
      token: adminToken,
    });
    expect(r.status).toBe(200);
    all.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor !== null);
  return all;
}
const letterOf = async (messageId: string) => (await letters()).find((l) => l.messageId === messageId);

async function confirmedOrder() {
  const p = await api.product(seller.token, 1500, 10);
  const r = await api.call("POST", "/v1/orders", {
    token: shopper.token,
    body: { items: [{ productId: p.id, quantity: 2 }] },
  });
  const id = r.body.orderId as string;
  expect((await api.settled(shopper.token, id)).status).toBe("CONFIRMED");
  return id;
}

/** A letter as the worker writes it when a message runs out of deliveries. */
async function deadLetterOf(env: ReturnType<typeof envelope>, consumer: string) {
  const original = headers();
  original.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  await fileDeadLetter(js, env, { consumer, error: "gateway POST /payments: 503", headers: original });
}

describe("dead letters", () => {
  test("a message that breaks its contract is dead-lettered at once and listed with its error", async () => {
    const id = `bad-${uuidv7()}`;
    await js.publish(
      "orders.cmd.cancel",
      JSON.stringify({ id, type: "orders.cmd.cancel", data: { orderId: "nope" } }),
      { msgID: id },
    );
    const l = await eventually(() => letterOf(id), 10_000, "the dead letter");
    expect(l).toMatchObject({ subject: "orders.cmd.cancel", consumer: "order", deliveries: 1 });
    expect(l.error).toContain("orderId");
    expect(new Date(l.at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  test("replay republishes the original envelope to its subject once; the letter leaves the list", async () => {
    const orderId = await confirmedOrder();
    const env = envelope("orders.cmd.cancel", { orderId });
    await deadLetterOf(env, "order");
    const l = await eventually(() => letterOf(env.id), 5_000, "the letter");
    expect(l).toMatchObject({
      subject: "orders.cmd.cancel",
      consumer: "order",
      deliveries: 6,
      error: "gateway POST /payments: 503",
      orderId,
    });

    const r = await api.call("POST", `/v1/ops/dlq/${l.id}/replay`, { token: adminToken });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ id: l.id, subject: "orders.cmd.cancel", messageId: env.id });
    const o = await eventually(
      async () => {
        const o = (await api.call("GET", `/v1/orders/${orderId}`, { token: shopper.token })).body;
        return o.status === "CANCELLED" ? o : undefined;
      },
      10_000,
      "the replayed cancel",
    );
    expect(o.reason).toBe("CANCELLED_BY_USER");
    expect(await letterOf(env.id)).toBeUndefined();
    expect((await api.call("POST", `/v1/ops/dlq/${l.id}/replay`, { token: adminToken })).status).toBe(404);

    // the same envelope dead-lettered again and replayed: the inbox has it, nothing happens twice
    await deadLetterOf(env, "order");
    const again = await eventually(() => letterOf(env.id), 5_000, "the second letter");
    expect((await api.call("POST", `/v1/ops/dlq/${again.id}/replay`, { token: adminToken })).status).toBe(200);
    await Bun.sleep(1000);
    const history = await db
      .select()
      .from(orderHistory)
      .where(eq(orderHistory.orderId, orderId))
      .orderBy(orderHistory.seq);
    expect(history.map((h) => h.status)).toEqual(["PENDING", "CONFIRMED", "CANCELLED"]);
    expect(await db.select().from(refunds).where(eq(refunds.orderId, orderId))).toHaveLength(1);
  });

  test("pages follow the cursor; only admins; unknown letters are 404", async () => {
    const envs = [
      envelope("orders.cmd.timeout", { orderId: uuidv7() }),
      envelope("orders.cmd.timeout", { orderId: uuidv7() }),
    ];
    for (const e of envs) await deadLetterOf(e, "order");
    const all = await eventually(async () => {
      const ls = await letters();
      return envs.every((e) => ls.some((l) => l.messageId === e.id)) ? ls : undefined;
    });
    const first = await api.call("GET", "/v1/ops/dlq?limit=1", { token: adminToken });
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0].id).toBe(all[0]!.id);
    const second = await api.call("GET", `/v1/ops/dlq?limit=1&cursor=${first.body.nextCursor}`, { token: adminToken });
    expect(second.body.items[0].id).toBe(all[1]!.id);
    expect((await api.call("GET", "/v1/ops/dlq", { token: shopper.token })).status).toBe(403);
    expect((await api.call("POST", `/v1/ops/dlq/${all[0]!.id}/replay`, { token: seller.token })).status).toBe(403);
    for (const id of ["999999999", "abc", "0"])
      expect((await api.call("POST", `/v1/ops/dlq/${id}/replay`, { token: adminToken })).status).toBe(404);
  });
});

describe("orders by saga state", () => {
  test("stuck: in-flight steps that stopped moving, and orders whose saga never started; not resting ones", async () => {
    const old = sql`now() - interval '5 minutes'`;
    const [compensating, neverStarted] = [uuidv7(), uuidv7()];
    const userId = shopper.id;
    await db.insert(orders).values([
      { id: compensating, userId, total: 1000, paymentMethod: "card_ok", status: "CONFIRMED", updatedAt: old },
      { id: neverStarted, userId, total: 1000, paymentMethod: "card_ok", updatedAt: old },
    ]);
    await db.insert(sagas).values({
      orderId: compensating,
      state: "compensating",
      snapshot: { context: { awaiting: [`order:${compensating}`] } },
      updatedAt: old,
    });
    const confirmed = await confirmedOrder();

    const stuck = await api.call("GET", "/v1/ops/orders?stuck=true&limit=100", { token: adminToken });
    expect(stuck.status).toBe(200);
    const byId = Object.fromEntries(stuck.body.items.map((o: { id: string }) => [o.id, o]));
    expect(byId[compensating]).toMatchObject({
      status: "CONFIRMED",
      state: "compensating",
      awaiting: [`order:${compensating}`],
    });
    expect(byId[compensating].ageS).toBeGreaterThanOrEqual(299);
    expect(byId[neverStarted]).toMatchObject({ status: "PENDING", state: null, awaiting: [] });
    expect(byId[confirmed]).toBeUndefined();

    const patient = await api.call("GET", "/v1/ops/orders?stuck=true&olderThanS=3600&limit=100", { token: adminToken });
    expect(patient.body.items.map((o: { id: string }) => o.id)).not.toContain(compensating);
    const inState = await api.call("GET", "/v1/ops/orders?state=confirmed&limit=100", { token: adminToken });
    expect(inState.body.items.map((o: { id: string }) => o.id)).toContain(confirmed);
    expect(inState.body.items.every((o: { state: string }) => o.state === "confirmed")).toBe(true);
    const pending = await api.call("GET", "/v1/ops/orders?status=PENDING&limit=100", { token: adminToken });
    expect(pending.body.items.map((o: { id: string }) => o.id)).toContain(neverStarted);
    expect((await api.call("GET", "/v1/ops/orders", { token: shopper.token })).status).toBe(403);
    expect((await api.call("GET", "/v1/ops/orders?status=LOST", { token: adminToken })).status).toBe(400);

    await db.delete(sagas).where(eq(sagas.orderId, compensating));
    await db.delete(orders).where(eq(orders.id, compensating));
    await db.delete(orders).where(eq(orders.id, neverStarted));
  });
});
