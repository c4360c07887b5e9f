// GET /v1/orders/:id/events over HTTP: the current status first, one event per change, the end of the
// stream after a terminal status, resuming with Last-Event-ID, and a change whose broadcast never came.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { createDb, type Db, orderHistory, orders } from "../db";
import { client, eventually } from "./client";
import { admin, stack } from "./harness";

let base: string;
let api: ReturnType<typeof client>;
let db: Db;
let adminToken: string;
type User = Awaited<ReturnType<typeof api.user>>;
let seller: User, shopper: User;

beforeAll(async () => {
  const s = await stack();
  base = s.edgeUrl;
  api = client(base);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  adminToken = await api.login(admin.email, admin.password);
  [seller, shopper] = await Promise.all([api.user("seller"), api.user("shopper")]);
}, 60_000);
afterAll(async () => {
  await db?.$client.end();
});

type Event = { event?: string; id?: string; data: { orderId: string; status: string; reason?: string; at: string } };

/** Opens the stream and collects its events until the server ends it or `close()` is called. */
async function listen(orderId: string, token: string, headers: Record<string, string> = {}) {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/v1/orders/${orderId}/events`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    signal: ctrl.signal,
  });
  const events: Event[] = [];
  const state = { closedByServer: false };
  const ended = (async () => {
    if (!res.ok || !res.body) return;
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk, { stream: true });
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const fields = Object.fromEntries(
            block
              .split("\n")
              .filter((l) => !l.startsWith(":"))
              .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
          );
          if (fields.data) events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data) });
        }
      }
      state.closedByServer = true;
    } catch {} // aborted by close()
  })();
  return { res, events, ended, state, close: () => ctrl.abort() };
}

const place = async (paymentMethod = "card_ok") => {
  const p = await api.product(seller.token, 1000, 10);
  const r = await api.call("POST", "/v1/orders", {
    token: shopper.token,
    body: { items: [{ productId: p.id, quantity: 1 }], paymentMethod },
  });
  return r.body.orderId as string;
};
const statuses = (events: Event[]) => events.map((e) => e.data.status);

describe("order events", () => {
  test("current status first, then one event per change, and the end after DELIVERED", async () => {
    const id = await place();
    const s = await listen(id, shopper.token);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get("content-type")).toContain("text/event-stream");
    await eventually(
      async () => (statuses(s.events).includes("CONFIRMED") ? true : undefined),
      10_000,
      "CONFIRMED event",
    );
    expect((await api.call("POST", `/v1/orders/${id}/ship`, { token: seller.token })).status).toBe(202);
    await eventually(async () => (statuses(s.events).includes("SHIPPED") ? true : undefined), 10_000, "SHIPPED event");
    expect((await api.call("POST", `/v1/orders/${id}/deliver`, { token: seller.token })).status).toBe(202);
    await Promise.race([s.ended, Bun.sleep(10_000)]);
    expect(s.state.closedByServer).toBe(true);
    // the first event is whatever the order was at connect time; after it, every change exactly once
    expect(["PENDING", "CONFIRMED"]).toContain(statuses(s.events)[0]!);
    expect(statuses(s.events).slice(-3)).toEqual(["CONFIRMED", "SHIPPED", "DELIVERED"]);
    expect(new Set(statuses(s.events)).size).toBe(s.events.length);
    expect(s.events.every((e) => e.event === "status" && e.data.orderId === id)).toBe(true);
    const ids = s.events.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const order = (await api.call("GET", `/v1/orders/${id}`, { token: shopper.token })).body;
    expect(s.events.at(-1)!.data.at).toBe(new Date(order.history.at(-1).at).toISOString());
  });

  test("a cancelled order: its reason, then the end of the stream", async () => {
    const id = await place("card_declined");
    const s = await listen(id, shopper.token);
    await Promise.race([s.ended, Bun.sleep(10_000)]);
    expect(s.events.at(-1)!.data).toMatchObject({ status: "CANCELLED", reason: "PAYMENT_DECLINED" });
    expect(s.state.closedByServer).toBe(true);
    // connecting to a finished order gives its last status and ends at once
    const late = await listen(id, shopper.token);
    await Promise.race([late.ended, Bun.sleep(5_000)]);
    expect(statuses(late.events)).toEqual(["CANCELLED"]);
    expect(late.state.closedByServer).toBe(true);
  });

  test("Last-Event-ID resumes after that event", async () => {
    const id = await place("card_declined");
    const all = await listen(id, shopper.token, { "last-event-id": "0" });
    await Promise.race([all.ended, Bun.sleep(10_000)]);
    expect(statuses(all.events)).toEqual(["PENDING", "CANCELLED"]);
    const resumed = await listen(id, shopper.token, { "last-event-id": all.events[0]!.id! });
    await Promise.race([resumed.ended, Bun.sleep(5_000)]);
    expect(statuses(resumed.events)).toEqual(["CANCELLED"]);
  });

  test("a change whose broadcast was lost still arrives, by the periodic re-read", async () => {
    const id = await place();
    await eventually(async () =>
      (await api.call("GET", `/v1/orders/${id}`, { token: shopper.token })).body.status === "CONFIRMED"
        ? true
        : undefined,
    );
    const s = await listen(id, shopper.token);
    await eventually(async () => (s.events.length ? true : undefined));
    // written behind the order actor's back: no broadcast at all
    await db.transaction(async (tx) => {
      await tx.update(orders).set({ status: "SHIPPED", updatedAt: sql`now()` }).where(eq(orders.id, id));
      await tx.insert(orderHistory).values({ orderId: id, status: "SHIPPED" });
    });
    await eventually(
      async () => (statuses(s.events).includes("SHIPPED") ? true : undefined),
      15_000,
      "SHIPPED event without a broadcast",
    );
    s.close();
    expect(statuses(s.events)).toEqual(["CONFIRMED", "SHIPPED"]);
    expect(s.state.closedByServer).toBe(false);
  }, 30_000);

  test("at most 10 streams per user on one edge: the 11th is 429 with Retry-After, until one closes", async () => {
    const owner = await api.user("shopper");
    const p = await api.product(seller.token, 1000, 10);
    const id = (
      await api.call("POST", "/v1/orders", { token: owner.token, body: { items: [{ productId: p.id, quantity: 1 }] } })
    ).body.orderId as string;
    const open: Awaited<ReturnType<typeof listen>>[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const s = await listen(id, owner.token);
        expect(s.res.status).toBe(200);
        open.push(s);
      }
      const refused = await listen(id, owner.token);
      open.push(refused); // closed at the end, whatever it is
      expect(refused.res.status).toBe(429);
      expect(((await refused.res.json()) as { code: string }).code).toBe("RATE_LIMITED");
      expect(refused.res.headers.get("content-type")).toBe("application/problem+json");
      expect(Number(refused.res.headers.get("retry-after"))).toBeGreaterThan(0);
      open.pop();
      // another user's streams are not counted against this one
      const other = await listen(await place(), shopper.token);
      expect(other.res.status).toBe(200);
      other.close();
      open.pop()!.close();
      const again = await eventually(
        async () => {
          const s = await listen(id, owner.token);
          if (s.res.status === 200) return s;
          s.close();
        },
        5_000,
        "a stream after one closed",
      );
      open.push(again);
    } finally {
      for (const s of open) s.close();
    }
  });

  test("only the owner: anyone else, even an admin, finds no such order", async () => {
    const id = await place();
    const stranger = await api.user("shopper");
    for (const token of [stranger.token, adminToken]) {
      const r = await api.call("GET", `/v1/orders/${id}/events`, { token });
      expect(r.status).toBe(404);
      expect(r.body.code).toBe("NOT_FOUND");
    }
    expect((await api.call("GET", `/v1/orders/${crypto.randomUUID()}/events`, { token: shopper.token })).status).toBe(
      404,
    );
    expect((await api.call("GET", `/v1/orders/${id}/events`)).status).toBe(401);
  });
});
