// Cursor pagination over UUIDv7 ids (time-ordered): the cursor is the last id of the previous page; lists
// in another order carry their sort key in the cursor too.
import { z } from "zod";
import { text } from "./validate";

/** The largest page a client may ask for, and the page it gets when it does not say. */
export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

export const pageQuerySchema = z.object({
  cursor: z.string().uuid().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
});

export function page<T extends { id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items.at(-1)!.id : null };
}

const TIME_CURSOR = /^(\d{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** A cursor for lists in (time, id) order: the last row's time (ms) and id. */
export const timeCursor = {
  encode: (at: Date, id: string) => `${at.getTime()}.${id}`,
  /** undefined when `raw` is not such a cursor */
  decode(raw: string): { at: Date; id: string } | undefined {
    const m = TIME_CURSOR.exec(raw);
    return m ? { at: new Date(Number(m[1])), id: m[2]!.toLowerCase() } : undefined;
  },
};

/**
 * A list's `status` parameter: comma-separated values of `all`, `fallback` when absent. Its text is checked
 * like any free text, then each value against the list.
 */
export function statusList<const S extends string>(all: readonly S[], fallback: readonly S[]) {
  return text()
    .max(200)
    .optional()
    .transform((v) => (v ? v.split(",").map((x) => x.trim()) : [...fallback]))
    .refine(
      (v) => v.length > 0 && v.every((x) => (all as readonly string[]).includes(x)),
      `status: comma-separated, each one of ${all.join(", ")}`,
    )
    .transform((v) => new Set(v as S[]))
    .describe(`comma-separated: ${all.join(", ")} (default ${fallback.join(",")})`);
}
