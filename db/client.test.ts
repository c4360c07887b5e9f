// The client prepares the statements drizzle sends (once per connection), but not those whose text varies
// with a list's length.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { stack } from "../tests/harness";
import { createDb, type Db } from "./client";

let db: Db;
beforeAll(async () => {
  db = createDb((await stack()).env.DATABASE_URL!, { max: 1 });
});
afterAll(() => db?.$client.end());

/** The statements prepared on the one connection that match `like`. */
const prepared = async (like: string) => {
  const rows = await db.execute<{ n: number }>(
    sql.raw(`select count(*)::int as n from pg_prepared_statements where statement like '${like}'`),
  );
  return rows[0]!.n;
};

test("drizzle's statements are prepared once, in and out of transactions; long parameter lists are not", async () => {
  for (let i = 0; i < 3; i++) {
    expect([...(await db.execute(sql`select ${i}::int + 1 as one_more`))]).toEqual([{ one_more: i + 1 }]);
    await db.transaction(async (tx) => {
      await tx.execute(sql`select ${i}::int + 2 as two_more`);
      await tx.transaction((sp) => sp.execute(sql`select ${i}::int + 3 as three_more`));
    });
  }
  expect(await prepared("%one_more%")).toBe(1);
  expect(await prepared("%two_more%")).toBe(1);
  expect(await prepared("%three_more%")).toBe(1);
  const many = Array.from({ length: 20 }, (_, i) => i);
  const [row] = await db.execute<{ n_of_many: number }>(
    sql`select cardinality(array[${sql.join(
      many.map((n) => sql`${n}::int`),
      sql`, `,
    )}]) as n_of_many`,
  );
  expect(row!.n_of_many).toBe(20);
  expect(await prepared("%n_of_many%")).toBe(0);
});
