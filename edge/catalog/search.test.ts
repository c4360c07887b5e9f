// Product search on a Postgres database of its own (migrated like production): what a query matches in
// Korean and English, filters, every sort walked page by page while products are added, and the plan of a
// search over 100,000 products (the GIN indexes, no sequential scan).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { createDb, type Db, products, runMigrations, stock } from "../../db";
import { uuidv7 } from "../../nats";
import { writeCorpus } from "../../scripts/bench/lib/search-corpus";
import { dropDatabase, ensureDatabase } from "../../scripts/lib/services";
import { search, searchQuery, searchStatement, sortOf, wordsOf } from "./search";

const url = `postgres://postgres@127.0.0.1:5432/flashsale_search_test_${process.pid}`;
let db: Db;

beforeAll(async () => {
  await dropDatabase(url);
  await ensureDatabase(url);
  await runMigrations(url);
  db = createDb(url, { max: 4 });
});
afterAll(async () => {
  await db?.$client.end();
  await dropDatabase(url);
});

type Made = { name: string; description?: string; price?: number; stock?: number; likes?: number };
async function make(sellerId: string, list: Made[]): Promise<string[]> {
  const ids: string[] = [];
  for (const p of list) {
    const id = uuidv7();
    await db.insert(products).values({
      id,
      sellerId,
      name: p.name,
      description: p.description ?? null,
      price: p.price ?? 1000,
      likes: p.likes ?? 0,
    });
    await db.insert(stock).values({ productId: id, available: p.stock ?? 1 });
    ids.push(id);
  }
  return ids;
}

/** The names found, in answer order, among one seller's products. */
async function names(sellerId: string, query: Record<string, string>) {
  const r = await search(db, searchQuery.parse({ ...query, sellerId, limit: "100" }));
  return r!.items.map((i) => i.name);
}

describe("what a query finds", () => {
  const seller = crypto.randomUUID();
  beforeAll(async () => {
    await make(seller, [
      { name: "나이키운동화 에어맥스", description: "가볍고 편한 러닝화", price: 120_000, stock: 5 },
      { name: "운동화 끈", description: "튼튼한 면 소재", price: 3_000, stock: 0 },
      { name: "신발 정리함", description: "현관 수납", price: 15_000, stock: 2 },
      { name: "신발장", description: "원목 수납장", price: 99_000, stock: 1 },
      { name: "Wireless Keyboard", description: "quiet mechanical switches", price: 89_000, stock: 1 },
      { name: "Keyboard cover", description: "silicone skin for laptops", price: 9_000, stock: 0 },
      { name: "Coffee mug", description: "ceramic, holds 350ml; 100% dishwasher safe", price: 12_000, stock: 3 },
    ]);
  });

  test("a Korean whole word: a two-syllable word only where it stands alone, not inside 신발장", async () => {
    expect(await names(seller, { q: "신발" })).toEqual(["신발 정리함"]);
  });

  test("a Korean part of a word: 운동화 inside 나이키운동화, after the product where it is a whole word", async () => {
    expect(await names(seller, { q: "운동화" })).toEqual(["운동화 끈", "나이키운동화 에어맥스"]);
    expect(await names(seller, { q: "이키운" })).toEqual(["나이키운동화 에어맥스"]);
    expect(await names(seller, { q: "신발장" })).toEqual(["신발장"]);
  });

  test("an English part of a word, in any case", async () => {
    expect(await names(seller, { q: "keyb" })).toEqual(["Keyboard cover", "Wireless Keyboard"]);
    expect(await names(seller, { q: "KEYB" })).toEqual(["Keyboard cover", "Wireless Keyboard"]);
    expect(await names(seller, { q: "reless" })).toEqual(["Wireless Keyboard"]);
  });

  test("a word of the description, Korean or English", async () => {
    expect(await names(seller, { q: "mechanical" })).toEqual(["Wireless Keyboard"]);
    expect(await names(seller, { q: "러닝화" })).toEqual(["나이키운동화 에어맥스"]);
    expect(await names(seller, { q: "ceramic" })).toEqual(["Coffee mug"]);
  });

  test("a name match ranks above a description match", async () => {
    await make(seller, [{ name: "Laptop stand", description: "aluminium" }]);
    expect(await names(seller, { q: "laptop" })).toEqual(["Laptop stand", "Keyboard cover"]);
  });

  test("a word nobody used finds nothing; every word of the query must match", async () => {
    expect(await names(seller, { q: "zebra" })).toEqual([]);
    expect(await names(seller, { q: "운동장" })).toEqual([]);
    expect(await names(seller, { q: "keyboard cover" })).toEqual(["Keyboard cover"]);
    expect(await names(seller, { q: "keyboard zebra" })).toEqual([]);
  });

  test("a part shorter than 3 characters is not a match; LIKE's wildcards are plain characters", async () => {
    expect(await names(seller, { q: "ke" })).toEqual([]);
    expect(await names(seller, { q: "%%%" })).toEqual([]);
    expect(await names(seller, { q: "100%" })).toEqual(["Coffee mug"]);
    expect(wordsOf("a_b 100% x\\y")).toEqual([
      { word: "a_b", like: "%a\\_b%" },
      { word: "100%", like: "%100\\%%" },
      { word: "x\\y", like: "%x\\\\y%" },
    ]);
  });

  test("a price range, with and without a query", async () => {
    expect(await names(seller, { minPrice: "10000", maxPrice: "100000", sort: "price_asc" })).toEqual([
      "Coffee mug",
      "신발 정리함",
      "Wireless Keyboard",
      "신발장",
    ]);
    expect(await names(seller, { q: "keyboard", maxPrice: "10000" })).toEqual(["Keyboard cover"]);
    expect(await names(seller, { minPrice: "120000" })).toEqual(["나이키운동화 에어맥스"]);
  });

  test("inStock: only products with units available now", async () => {
    expect(await names(seller, { q: "운동화", inStock: "true" })).toEqual(["나이키운동화 에어맥스"]);
    expect((await names(seller, { inStock: "true" })).sort()).toEqual(
      ["Coffee mug", "Laptop stand", "Wireless Keyboard", "나이키운동화 에어맥스", "신발 정리함", "신발장"].sort(),
    );
  });

  test("a deleted product is never found", async () => {
    const [id] = await make(seller, [{ name: "Vanishing 운동화" }]);
    expect(await names(seller, { q: "vanishing" })).toEqual(["Vanishing 운동화"]);
    await db.update(products).set({ deletedAt: new Date() }).where(eq(products.id, id!));
    expect(await names(seller, { q: "vanishing" })).toEqual([]);
  });
});

describe("bad input", () => {
  const refused = (q: Record<string, string>) => {
    const r = searchQuery.safeParse(q);
    return r.success ? "accepted" : r.error.issues.map((i) => i.message).join("; ");
  };
  test("an unknown sort, a negative or inverted price range, a long query, a bad cursor", async () => {
    expect(refused({ sort: "cheapest" })).toContain("sort must be one of new, price_asc, price_desc, popular");
    expect(refused({ minPrice: "-1" })).toBe("minPrice must be 0 or more");
    expect(refused({ maxPrice: "abc" })).toContain("maxPrice must be a whole number");
    expect(refused({ minPrice: "5000", maxPrice: "1000" })).toBe("minPrice must not be above maxPrice");
    expect(refused({ q: "x".repeat(1000) })).toBe("q: at most 200 characters");
    expect(refused({ q: "a b c d e f g h i" })).toBe("q: at most 8 words");
    expect(refused({ q: "nul\u0000" })).toContain("control characters");
    // a cursor of another sort is refused, not misread
    const s = searchQuery.parse({ sort: "price_asc", cursor: crypto.randomUUID() });
    expect(await search(db, s)).toBeUndefined();
    // a key no int4 column holds is refused before Postgres sees it
    for (const key of ["2147483648", "9999999999", "-2147483648"])
      expect(
        await search(db, searchQuery.parse({ sort: "price_asc", cursor: `${key}.${crypto.randomUUID()}` })),
      ).toBeUndefined();
    expect(
      (await search(db, searchQuery.parse({ sort: "price_asc", cursor: `2147483647.${crypto.randomUUID()}` })))?.items,
    ).toEqual([]);
  });
});

describe("every sort walked page by page while products are added", () => {
  const sorts = [
    ["new", {}],
    ["price_asc", {}],
    ["price_desc", {}],
    ["popular", {}],
    ["best match", { q: "walk" }],
  ] as const;
  for (const [label, extra] of sorts)
    test(label, async () => {
      const seller = crypto.randomUUID();
      // ties in every key: prices and likes repeat, and half the names match the query in the name
      const start = await make(
        seller,
        Array.from({ length: 23 }, (_, i) => ({
          name: i % 2 ? `walk item ${i}` : `item ${i}`,
          description: "for the walk",
          price: 1000 * (i % 5),
          likes: i % 4,
        })),
      );
      const sort = label === "best match" ? {} : { sort: label };
      const seen: string[] = [];
      const keys: number[][] = [];
      let cursor: string | null = null;
      let added = 0;
      do {
        const q = searchQuery.parse({ ...sort, ...extra, sellerId: seller, limit: "4", ...(cursor ? { cursor } : {}) });
        const r = (await search(db, q))!;
        for (const p of r.items) {
          seen.push(p.id);
          keys.push([p.price, p.likes]);
        }
        cursor = r.nextCursor;
        // a product added between pages, with keys that fall before and after the cursor
        await make(seller, [
          { name: `walk added ${added}`, description: "for the walk", price: 1000 * (added % 5), likes: added % 4 },
        ]);
        added++;
      } while (cursor && added < 50);
      expect(new Set(seen).size).toBe(seen.length); // no product twice
      for (const id of start) expect(seen).toContain(id); // none that was there skipped
      if (label === "price_asc")
        expect(keys.map((k) => k[0]!)).toEqual(keys.map((k) => k[0]!).toSorted((a, b) => a - b));
      if (label === "price_desc")
        expect(keys.map((k) => k[0]!)).toEqual(keys.map((k) => k[0]!).toSorted((a, b) => b - a));
      if (label === "popular") expect(keys.map((k) => k[1]!)).toEqual(keys.map((k) => k[1]!).toSorted((a, b) => b - a));
      if (label === "new") {
        const startSeen = seen.filter((id) => start.includes(id));
        expect(startSeen).toEqual([...start].reverse());
      }
    });
});

describe("the plan over 100,000 products", () => {
  test("a search reads the GIN indexes, never the whole table", async () => {
    await writeCorpus(db, 100_000, crypto.randomUUID());
    const plans: Record<string, string> = {};
    for (const q of ["MX-4821", "X-48", "운동화안경"]) {
      const s = searchQuery.parse({ q });
      const st = searchStatement(db, s, sortOf(s), undefined).toSQL();
      const rows = await db.$client.unsafe(`explain ${st.sql}`, st.params as never[]);
      plans[q] = rows.map((r) => r["QUERY PLAN"]).join("\n");
    }
    for (const [q, plan] of Object.entries(plans)) {
      expect([q, plan]).toEqual([q, expect.stringContaining("Bitmap Index Scan on products_search_trgm_idx")]);
      expect([q, plan]).not.toEqual([q, expect.stringContaining("Seq Scan on products")]);
    }
    expect(plans["MX-4821"]).toContain("Bitmap Index Scan on products_search_words_idx");
    const [row] = await db.execute<{ n: number }>(sql`select count(*)::int as n from ${products}`);
    expect(row!.n).toBeGreaterThanOrEqual(100_000);
  }, 180_000);
});
