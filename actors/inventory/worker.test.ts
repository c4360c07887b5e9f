// The inventory handler on real Postgres, a batch at a time: arrival order, all or nothing, redeliveries,
// sale units, releases in the same batch, two instances on the same products at once, and the plans of the
// statements every batch runs, on a table without statistics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, inArray, type SQL, sql } from "drizzle-orm";
import { createDb, type Db, reservations, runMigrations, saleStock, stock } from "../../db";
import { type Data, envelope, type LineItem, uuidv7 } from "../../nats";
import { dropDatabase, ensureDatabase } from "../../scripts/lib/services";
import { stack } from "../../tests/harness";
import type { Incoming } from "../lib/worker";
import { freeItems, inventoryHandler, reservedBefore } from "./worker";

let db: Db;
beforeAll(async () => {
  db = createDb((await stack()).env.DATABASE_URL!, { max: 6 });
}, 60_000);
afterAll(async () => {
  await db?.$client.end();
});

async function products(...available: number[]) {
  const ids = available.map(() => uuidv7());
  await db.insert(stock).values(ids.map((productId, i) => ({ productId, available: available[i]! })));
  return ids;
}
const item = (productId: string, quantity: number): LineItem => ({
  itemId: uuidv7(),
  productId,
  quantity,
  price: 1000,
});
const reserve = (
  items: LineItem[],
  extra: Partial<Data<"inventory.cmd.reserve">> = {},
  orderId = uuidv7(),
): Incoming => ({
  env: envelope("inventory.cmd.reserve", { orderId, items, ...extra }),
});
const run = (batch: Incoming[]) => db.transaction((tx) => inventoryHandler(tx, batch, () => {}));
const answers = async (batch: Incoming[]) => (await run(batch)).map((o) => o.msg.type.replace("inventory.evt.", ""));
const left = async (id: string) => (await db.select().from(stock).where(eq(stock.productId, id)))[0]!.available;

describe("inventory batch", () => {
  test("in arrival order: a later order gets what an earlier one could not take", async () => {
    const [p] = await products(5);
    expect(await answers([reserve([item(p!, 3)]), reserve([item(p!, 3)]), reserve([item(p!, 2)])])).toEqual([
      "reserved",
      "rejected",
      "reserved",
    ]);
    expect(await left(p!)).toBe(0);
  });

  test("all or nothing across products: a short one takes none of the others", async () => {
    const [p, q] = await products(1, 10);
    const short = reserve([item(q!, 1), item(p!, 2)]);
    const fits = reserve([item(p!, 1), item(q!, 1), item(q!, 2)]);
    expect(await answers([short, fits])).toEqual(["rejected", "reserved"]);
    expect([await left(p!), await left(q!)]).toEqual([0, 7]);
    expect(await db.select().from(reservations).where(eq(reservations.orderId, fits.env.orderId!))).toHaveLength(3);
  });

  test("an order seen again, in the same batch or a later one, is reserved once", async () => {
    const [p] = await products(4);
    const first = reserve([item(p!, 3)]);
    const again = { env: { ...first.env, id: uuidv7() } } as Incoming;
    expect(await answers([first, again])).toEqual(["reserved", "reserved"]);
    expect(await answers([{ env: { ...first.env, id: uuidv7() } } as Incoming])).toEqual(["reserved"]);
    expect(await left(p!)).toBe(1);
    expect(await db.select().from(reservations).where(eq(reservations.orderId, first.env.orderId!))).toHaveLength(1);
  });

  test("sale units come from the sale, not from the product's stock", async () => {
    const [p] = await products(100);
    const saleId = uuidv7();
    await db.insert(saleStock).values({ saleId, available: 2 });
    expect(
      await answers([
        reserve([item(p!, 1)], { saleId }),
        reserve([item(p!, 2)], { saleId }),
        reserve([item(p!, 1)], { saleId }),
      ]),
    ).toEqual(["reserved", "rejected", "reserved"]);
    expect((await db.select().from(saleStock).where(eq(saleStock.saleId, saleId)))[0]!.available).toBe(0);
    expect(await left(p!)).toBe(100);
  });

  test("a release in the batch gives its units back before the batch's reservations", async () => {
    const [p] = await products(2);
    const earlier = reserve([item(p!, 2)]);
    await run([earlier]);
    const release: Incoming = { env: envelope("inventory.cmd.release", { orderId: earlier.env.orderId! }) };
    expect(await answers([reserve([item(p!, 1)]), release])).toEqual(["reserved", "released"]);
    expect(await left(p!)).toBe(1);
  });

  test("a batch of releases: each gives back what it names, once; an order released twice in one batch, each its part", async () => {
    const [p, q] = await products(10, 10);
    const a = reserve([item(p!, 2), item(q!, 1)]);
    const b = reserve([item(p!, 3)]);
    const c = reserve([item(q!, 4), item(p!, 1)]);
    await run([a, b, c]);
    expect([await left(p!), await left(q!)]).toEqual([4, 5]);
    const items = (o: Incoming) => (o.env.data as Data<"inventory.cmd.reserve">).items.map((i) => i.itemId);
    const release = (orderId: string, itemIds?: string[]): Incoming => ({
      env: envelope("inventory.cmd.release", { orderId, ...(itemIds ? { itemIds } : {}) }),
    });
    const batch = [
      release(a.env.orderId!), // the whole order
      release(b.env.orderId!, items(b)), // by its items
      release(c.env.orderId!, [items(c)[0]!]), // one item, then the rest, in the same batch
      release(c.env.orderId!),
      release(a.env.orderId!), // again: frees nothing more
    ];
    const facts = (await run(batch)).map((o) => o.msg.data as Data<"inventory.evt.released">);
    const [oa, ob, oc] = [a, b, c].map((o) => o.env.orderId!);
    expect(facts.map((f) => [f.orderId, [...f.itemIds].sort()])).toEqual([
      [oa!, [...items(a)].sort()],
      [ob!, items(b)],
      [oc!, [items(c)[0]!]],
      [oc!, [items(c)[1]!]],
      [oa!, []],
    ]);
    expect([await left(p!), await left(q!)]).toEqual([10, 10]);
    const rows = await db
      .select({ status: reservations.status })
      .from(reservations)
      .where(
        inArray(
          reservations.orderId,
          [a, b, c].map((o) => o.env.orderId!),
        ),
      );
    expect(rows.map((r) => r.status)).toEqual(Array(5).fill("RELEASED"));
  });

  test("two instances reserving the same products in opposite orders do not deadlock", async () => {
    const [p, q] = await products(1000, 1000);
    const forward = Array.from({ length: 40 }, (_, i) => reserve([item(i % 2 ? p! : q!, 1)]));
    const backward = Array.from({ length: 40 }, (_, i) => reserve([item(i % 2 ? q! : p!, 1)]));
    const results = await Promise.allSettled([
      run(forward),
      run(backward),
      run(forward.slice().reverse()),
      run(backward.slice().reverse()),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    expect([await left(p!), await left(q!)]).toEqual([960, 960]);
    const ids = [...forward, ...backward].map((b) => b.env.orderId!);
    expect(await db.select().from(reservations).where(inArray(reservations.orderId, ids))).toHaveLength(80);
  });
});

describe("on a table without statistics (a fresh database: a sale's first minute)", () => {
  const url = `postgres://postgres@127.0.0.1:5432/flashsale_inventory_plans_${process.pid}`;
  let fresh: Db;
  let some: { order_id: string; item_id: string }[];
  beforeAll(async () => {
    await dropDatabase(url);
    await ensureDatabase(url);
    await runMigrations(url);
    fresh = createDb(url, { max: 1 });
    // 20,000 reservations, never analyzed
    await fresh.execute(sql`alter table ${reservations} set (autovacuum_enabled = false)`);
    await fresh.execute(sql`
      insert into ${reservations} (order_id, item_id, product_id, quantity)
      select gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1 from generate_series(1, 20000)`);
    some = await fresh.execute(sql`select order_id, item_id from ${reservations} limit 256`);
  }, 60_000);
  afterAll(async () => {
    await fresh?.$client.end();
    await dropDatabase(url);
  });
  const scans = async (statement: SQL) => {
    const [row] = await fresh.execute<{ "QUERY PLAN": unknown }>(sql`explain (format json) ${statement}`);
    const nodes: { "Node Type": string; "Relation Name"?: string; "Index Name"?: string }[] = [];
    const walk = (n: { Plans?: unknown[] }) => {
      nodes.push(n as (typeof nodes)[number]);
      for (const c of n.Plans ?? []) walk(c as { Plans?: unknown[] });
    };
    walk((row!["QUERY PLAN"] as [{ Plan: { Plans?: unknown[] } }])[0].Plan);
    return nodes.filter((n) => n["Relation Name"] === "reservations").map((n) => n["Node Type"]);
  };

  test("a batch's check for orders reserved before probes the key's index, not the whole table", async () => {
    expect(await scans(reservedBefore(some.map((r) => r.order_id)))).toEqual(["Index Only Scan"]);
  });
  test("a batch's release of the items it names probes the key's index, not the whole table", async () => {
    // a batch's releases: its declined orders' items, a fifth of a full batch's orders here
    const plan = await scans(freeItems(some.slice(0, 50).map((r) => [r.order_id, r.item_id] as const)));
    expect(plan).not.toContain("Seq Scan");
    expect(plan.some((t) => t.startsWith("Index"))).toBe(true);
  });
});
