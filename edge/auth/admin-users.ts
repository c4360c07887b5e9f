// GET /v1/admin/users: an admin finds users by the start of their email and by role, a cursor page at a time.
import { and, asc, eq, gt, like, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { users } from "../../db";
import type { Deps, Env } from "../deps";
import { requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { page } from "../pagination";
import * as s from "./schemas";
import { publicUser } from "./view";

/** A LIKE pattern that matches strings starting with `prefix` (its own %, _ and \ taken literally). */
export const prefixPattern = (prefix: string) => `${prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

export function adminUserRoutes(d: Deps) {
  const app = new Hono<Env>();
  app.get(
    "/v1/admin/users",
    requireRole("admin"),
    openapi({
      summary: "Find users by email prefix and role",
      description: "Oldest account first; `nextCursor` continues the same search.",
      tags: ["admin"],
      query: s.userSearch,
      responses: { 200: s.userPage },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const where: SQL[] = [];
      if (q.email) where.push(like(users.email, prefixPattern(q.email)));
      if (q.role) where.push(eq(users.role, q.role));
      if (q.cursor) where.push(gt(users.id, q.cursor));
      const rows = await d.db
        .select()
        .from(users)
        .where(and(...where))
        .orderBy(asc(users.id))
        .limit(q.limit + 1);
      return c.json(page(rows.map(publicUser), q.limit));
    },
  );
  return app;
}
