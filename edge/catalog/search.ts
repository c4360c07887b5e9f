// Product search and filtered lists on Postgres alone. A word of the query matches a product when it is a
// whole word of its name or description (full-text search, 'simple' configuration: no stemming, any
// language) or, from 3 characters on, any part of one (pg_trgm). Both have GIN indexes (migration 0005) on
// columns Postgres keeps: `words` (the tsvector) and `searched` (the text in lower case). Korean is written
// without spaces inside compounds ("나이키운동화"): the 'simple' parser keeps such a compound as one word,
// so "운동화" is found inside it as a part (3+ characters), and a short word ("신발") only where it stands
// as a word of its own.
//
// Pages are keyset pages: each sort orders by its key and then the id, and the cursor is the last row's key
// and id, so a page starts strictly after the previous one whatever was added meanwhile (no row twice,
// none skipped). `new` keeps the plain list's cursor, the last id (ids are UUIDv7, time-ordered).
import { and, asc, desc, eq, gte, isNull, lte, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { type Db, products, stock, type Tx } from "../../db";
import { DEFAULT_PAGE, MAX_PAGE } from "../pagination";
import { text } from "../validate";

export const SORTS = ["new", "price_asc", "price_desc", "popular"] as const;
export type Sort = (typeof SORTS)[number] | "relevance";

/** Longest query and most words a query may hold. */
export const MAX_QUERY = 200;
export const MAX_WORDS = 8;
/** A word this long or longer also matches inside longer words (a trigram needs three characters). */
export const PART_MIN = 3;
const MAX_PRICE = 1_000_000_000;

const price = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number of KRW` })
    .int(`${name} must be a whole number of KRW`)
    .min(0, `${name} must be 0 or more`)
    .max(MAX_PRICE, `${name} must be at most ${MAX_PRICE}`)
    .optional();

export const searchQuery = z
  .object({
    q: text()
      .max(MAX_QUERY, `q: at most ${MAX_QUERY} characters`)
      .optional()
      .transform((v) => v?.normalize("NFC").trim() || undefined)
      .describe(
        `words to find in name or description: whole words, or parts of words from ${PART_MIN} characters; every word must match`,
      ),
    minPrice: price("minPrice"),
    maxPrice: price("maxPrice"),
    sellerId: z.uuid().optional(),
    inStock: z.enum(["true", "false"]).optional().describe("true: only products with units available now"),
    sort: z
      .enum(SORTS, { error: `sort must be one of ${SORTS.join(", ")}` })
      .optional()
      .describe(
        "new (default without q), price_asc, price_desc, popular (most liked); with q and no sort: best match first",
      ),
    cursor: text().max(100).optional().describe("nextCursor of the previous page, under the same sort"),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  })
  .refine((s) => s.minPrice === undefined || s.maxPrice === undefined || s.minPrice <= s.maxPrice, {
    message: "minPrice must not be above maxPrice",
    path: ["minPrice"],
  })
  .refine((s) => !s.q || s.q.split(/\s+/).length <= MAX_WORDS, {
    message: `q: at most ${MAX_WORDS} words`,
    path: ["q"],
  });
export type SearchQuery = z.output<typeof searchQuery>;

/** Whether a request asks for more than the plain newest-first list (which the catalog cache serves). */
export const isSearch = (s: SearchQuery) =>
  s.q !== undefined ||
  s.minPrice !== undefined ||
  s.maxPrice !== undefined ||
  s.sellerId !== undefined ||
  s.inStock === "true" ||
  (s.sort ?? "new") !== "new";

export const sortOf = (s: SearchQuery): Sort => s.sort ?? (s.q ? "relevance" : "new");

type Word = { word: string; like?: string };
export function wordsOf(q: string): Word[] {
  return [...new Set(q.split(/\s+/).filter(Boolean))].map((word) => ({
    word,
    ...([...word].length >= PART_MIN ? { like: `%${word.replace(/[\\%_]/g, "\\$&")}%` } : {}),
  }));
}

/** One word found in name or description: as a whole word, or (3+ characters) as a part of one. */
function found(w: Word): SQL {
  const whole = sql`${products.words} @@ plainto_tsquery('simple', ${w.word})`;
  return w.like ? sql`(${whole} or ${products.searched} like lower(${w.like}))` : whole;
}
const every = (parts: SQL[]) => sql.join(parts, sql` and `);

/**
 * Best match first, as a small whole number (exact in a cursor): 2 when every word appears in the name, plus
 * 1 when every word is a whole word somewhere; ties go to the newest.
 */
function relevance(q: string, ws: Word[]): SQL<number> {
  const inName = every(ws.map((w) => sql`strpos(lower(${products.name}), ${w.word.toLowerCase()}) > 0`));
  return sql<number>`((case when ${inName} then 2 else 0 end) + (case when ${products.words} @@ plainto_tsquery('simple', ${q}) then 1 else 0 end))`;
}

type Cursor = { key?: number; id: string };
const CURSOR = /^(?:(-?\d{1,10})\.)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
/** Every sort key is an int4 column or a small score: a key past it is no cursor of ours (and Postgres would refuse it). */
const MAX_KEY = 2_147_483_647;

/** The cursor as sent, checked against the sort it must belong to; undefined when it does not fit. */
export function decodeCursor(sort: Sort, raw: string): Cursor | undefined {
  const m = CURSOR.exec(raw);
  if (!m) return undefined;
  const keyed = sort !== "new";
  if (keyed !== (m[1] !== undefined)) return undefined;
  if (keyed && Math.abs(Number(m[1])) > MAX_KEY) return undefined;
  return keyed ? { key: Number(m[1]), id: m[2]!.toLowerCase() } : { id: m[2]!.toLowerCase() };
}
const encodeCursor = (sort: Sort, row: { id: string; key: number }) =>
  sort === "new" ? row.id : `${row.key}.${row.id}`;

/** A product's own fields: what the catalog cache may hold (stock and likes move without a catalog write). */
export const productFields = {
  id: products.id,
  sellerId: products.sellerId,
  name: products.name,
  description: products.description,
  price: products.price,
  createdAt: products.createdAt,
  updatedAt: products.updatedAt,
};
const ownFields = { ...productFields, likes: products.likes };
/** The fields a product view carries, read now (stock and likes included). */
export const liveFields = { ...ownFields, stock: sql<number>`coalesce(${stock.available}, 0)`.mapWith(Number) };

/**
 * The search as one query (EXPLAIN it with `.toSQL()`); `cursor` already decoded for `sort`. Stock is not
 * joined here: a page's stock is read after the page is cut (joining first cost a lookup per match).
 */
export function searchStatement(db: Db | Tx, s: SearchQuery, sort: Sort, cursor: Cursor | undefined) {
  const ws = s.q ? wordsOf(s.q) : [];
  const key: SQL<number> | undefined =
    sort === "price_asc" || sort === "price_desc"
      ? sql<number>`${products.price}`
      : sort === "popular"
        ? sql<number>`${products.likes}`
        : sort === "relevance"
          ? relevance(s.q!, ws)
          : undefined;
  const ascending = sort === "price_asc";
  const after = !cursor
    ? undefined
    : key
      ? ascending
        ? sql`(${key}, ${products.id}) > (${cursor.key}, ${cursor.id}::uuid)`
        : sql`(${key}, ${products.id}) < (${cursor.key}, ${cursor.id}::uuid)`
      : sql`${products.id} < ${cursor.id}::uuid`;
  return db
    .select({ ...ownFields, key: (key ?? sql<number>`0`).mapWith(Number) })
    .from(products)
    .where(
      and(
        isNull(products.deletedAt),
        ...ws.map(found),
        s.minPrice !== undefined ? gte(products.price, s.minPrice) : undefined,
        s.maxPrice !== undefined ? lte(products.price, s.maxPrice) : undefined,
        s.sellerId ? eq(products.sellerId, s.sellerId) : undefined,
        s.inStock === "true"
          ? sql`exists (select 1 from ${stock} where ${stock.productId} = ${products.id} and ${stock.available} > 0)`
          : undefined,
        after,
      ),
    )
    .orderBy(
      ...(key
        ? [ascending ? asc(key) : desc(key), ascending ? asc(products.id) : desc(products.id)]
        : [desc(products.id)]),
    )
    .limit(s.limit + 1);
}

export type Found = Omit<Awaited<ReturnType<typeof searchStatement>>[number], "key"> & { stock: number };

/** A page of the search; undefined when the cursor does not belong to this sort. */
export async function search(
  db: Db | Tx,
  s: SearchQuery,
): Promise<{ items: Found[]; nextCursor: string | null } | undefined> {
  const sort = sortOf(s);
  const cursor = s.cursor === undefined ? undefined : decodeCursor(sort, s.cursor);
  if (s.cursor !== undefined && !cursor) return undefined;
  // planned for its own words every time: how many products a word matches decides between the indexes and
  // a scan, and the generic plan a prepared statement falls back to after five runs cannot know it
  const rows = await db.transaction(async (tx) => {
    await tx.execute(sql`set local plan_cache_mode = force_custom_plan`);
    return searchStatement(tx, s, sort, cursor);
  });
  const more = rows.length > s.limit;
  const page = rows.slice(0, s.limit);
  const ids = page.map((p) => p.id);
  const units = ids.length
    ? new Map(
        (
          await db
            .select({ id: stock.productId, available: stock.available })
            .from(stock)
            .where(sql`${stock.productId} = any(${sql.param(ids)}::uuid[])`)
        ).map((r) => [r.id, r.available]),
      )
    : new Map<string, number>();
  return {
    items: page.map(({ key: _, ...p }) => ({ ...p, stock: units.get(p.id) ?? 0 })),
    nextCursor: more ? encodeCursor(sort, page.at(-1)!) : null,
  };
}
