// Cursor pagination over UUIDv7 ids (time-ordered): the cursor is the last id of the previous page.
import type { Context } from "hono";
import { z } from "zod";
import { parse } from "./validate";

/** The largest page a client may ask for, and the page it gets when it does not say. */
export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

export const pageQuerySchema = z.object({
  cursor: z.string().uuid().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
});

export function pageQuery(c: Context) {
  return parse(pageQuerySchema, { cursor: c.req.query("cursor"), limit: c.req.query("limit") });
}

export function page<T extends { id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items.at(-1)!.id : null };
}
