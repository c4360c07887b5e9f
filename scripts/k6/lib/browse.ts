// The mixed read load: the product list walked page by page with its cursor, product detail, sale detail
// and the shopper's cart, each read as a signed-in shopper.
import type { Flow, Req, Res, Result } from "./flow.ts";
import type { BrowseData } from "./setup.ts";

export const BROWSE_KINDS = ["products_list", "product", "sale", "cart"] as const;
export type BrowseKind = (typeof BROWSE_KINDS)[number];
const MIX: [BrowseKind, number][] = [
  ["products_list", 0.4],
  ["product", 0.3],
  ["sale", 0.2],
  ["cart", 0.1],
];
const SALE_STATUSES = ["scheduled", "live", "sold_out", "ended"];

/** Iteration n's kind of read, spread by a multiplicative hash so that neighbouring iterations differ. */
export function browseKind(n: number): BrowseKind {
  let x = (Math.imul(n + 1, 2654435761) >>> 0) / 2 ** 32;
  for (const [kind, share] of MIX) if ((x -= share) < 0) return kind;
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

/** Iteration `n` as shopper n mod N. */
export function* browse(d: BrowseData, n: number, kind: BrowseKind = browseKind(n)): Flow<Result<BrowseKind | "error">> {
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
