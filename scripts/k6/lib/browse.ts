// The mixed read load: the product list walked page by page with its cursor, searches (Korean and English,
// under each sort, walked the same way), product detail, sale detail and the shopper's cart, each read as a
// signed-in shopper.
import type { Flow, Req, Res, Result } from "./flow.ts";
import type { BrowseData } from "./setup.ts";

export const BROWSE_KINDS = ["products_list", "search", "product", "sale", "cart"] as const;
export type BrowseKind = (typeof BROWSE_KINDS)[number];
const MIX: [BrowseKind, number][] = [
  ["products_list", 0.3],
  ["search", 0.2],
  ["product", 0.25],
  ["sale", 0.15],
  ["cart", 0.1],
];
/** What shoppers type: a Korean part of a compound, English words, two words at once. */
export const SEARCHES = ["운동화", "keyboard", "tumbler", "나이키 운동화", "wireless key", "러닝화"];
/** "" is the default order (best match first). */
const SEARCH_SORTS = ["", "new", "price_asc", "price_desc", "popular"];
const SALE_STATUSES = ["scheduled", "live", "sold_out", "ended"];

/** Iteration n's kind of read, spread by a multiplicative hash so that neighbouring iterations differ. */
export function browseKind(n: number): BrowseKind {
  let x = (Math.imul(n + 1, 2654435761) >>> 0) / 2 ** 32;
  for (const [kind, share] of MIX) {
    x -= share;
    if (x < 0) return kind;
  }
  return "cart";
}

/** A page is newest first: its ids go down from the cursor, and nextCursor is its last id (or null). */
function pageOk(r: Res, size: number, cursor: string | null): boolean {
  const items: unknown = r.body?.items;
  if (!Array.isArray(items) || items.length > size) return false;
  let last = cursor;
  for (const it of items as { id: unknown }[]) {
    if (typeof it.id !== "string" || (last !== null && it.id >= last)) return false;
    last = it.id;
  }
  return r.body.nextCursor === null || (r.body.nextCursor === last && items.length === size);
}

/** Every product of a search page holds every word of the query in its name or description. */
function searchOk(r: Res, size: number, q: string, seen: Set<string>): boolean {
  const items: unknown = r.body?.items;
  if (!Array.isArray(items) || items.length > size) return false;
  const words = q.toLowerCase().split(" ");
  for (const it of items as { id: unknown; name: unknown; description: unknown; likes: unknown }[]) {
    if (typeof it.id !== "string" || seen.has(it.id) || typeof it.likes !== "number") return false;
    seen.add(it.id);
    const text = `${it.name} ${it.description ?? ""}`.toLowerCase();
    if (!words.every((w) => text.includes(w))) return false;
  }
  return r.body.nextCursor === null || typeof r.body.nextCursor === "string";
}

/** Iteration `n` as shopper n mod N. */
export function* browse(
  d: BrowseData,
  n: number,
  kind: BrowseKind = browseKind(n),
): Flow<Result<BrowseKind | "error">> {
  const s = d.shoppers[n % d.shoppers.length]!;
  const get = (path: string): Req => ({ method: "GET", path, token: s.token, from: s.from, name: kind, expect: [200] });
  const checks: [string, boolean][] = [];
  const outcomes: (BrowseKind | "error")[] = [];
  const saw = (r: Res, shaped: boolean) => {
    const ok = r.status === 200 && shaped;
    checks.push([`${kind}: 200 with its shape`, ok]);
    outcomes.push(ok ? kind : "error");
  };
  if (kind === "products_list") {
    let cursor: string | null = null;
    for (let p = 0; p < d.pages; p++) {
      const r = (yield get(`/v1/products?limit=${d.pageSize}${cursor ? `&cursor=${cursor}` : ""}`)) as Res;
      saw(r, pageOk(r, d.pageSize, cursor));
      cursor = typeof r.body?.nextCursor === "string" ? r.body.nextCursor : null;
      if (!cursor) break;
    }
  } else if (kind === "search") {
    const q = SEARCHES[n % SEARCHES.length]!;
    const sort = SEARCH_SORTS[Math.floor(n / SEARCHES.length) % SEARCH_SORTS.length]!;
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let p = 0; p < d.pages; p++) {
      const query = `q=${encodeURIComponent(q)}${sort ? `&sort=${sort}` : ""}&limit=${d.pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const r = (yield get(`/v1/products?${query}`)) as Res;
      saw(r, searchOk(r, d.pageSize, q, seen));
      cursor = typeof r.body?.nextCursor === "string" ? r.body.nextCursor : null;
      if (!cursor) break;
    }
  } else if (kind === "product") {
    const id = d.productIds[n % d.productIds.length]!;
    const r = (yield get(`/v1/products/${id}`)) as Res;
    saw(r, r.body?.id === id && typeof r.body.price === "number" && typeof r.body.stock === "number");
  } else if (kind === "sale") {
    const r = (yield get(`/v1/sales/${d.saleId}`)) as Res;
    saw(r, r.body?.id === d.saleId && typeof r.body.remaining === "number" && SALE_STATUSES.includes(r.body.status));
  } else {
    const r = (yield get("/v1/cart")) as Res;
    saw(r, Array.isArray(r.body?.items) && r.body.items.length > 0 && typeof r.body.total === "number");
  }
  return { checks, outcomes };
}
