// GET /ops (the ops console), GET /shop/sales/:id (a sale's page) and GET /assets/:name (their scripts and
// stylesheet, cached for good under content-hashed names). Served by the edge itself: no CDN, works offline.
import { eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { products } from "../../db";
import { gate, gateFromPostgres } from "../../domain/sale";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { openapi } from "../openapi";
import type { SaleBoard } from "../sales/board";
import { saleView } from "../sales/routes";
import { idParam } from "../validate";
import { type Assets, buildAssets } from "./bundle";
import { opsPage, PAGE_CSP, shopPage } from "./html";

const IMMUTABLE = "public, max-age=31536000, immutable";
const assetName = z.string().regex(/^[\w.-]{1,64}$/);

export function pageRoutes(d: Deps, board: SaleBoard) {
  const app = new Hono<Env>();
  const g = gate(d.redis);
  let built: Promise<Assets> | undefined;
  const assets = () =>
    (built ??= buildAssets().catch((err) => {
      built = undefined; // the next request tries again
      d.log.error("pages: build failed", { err });
      throw err;
    }));
  const html = (c: Context<Env>, body: string) => {
    c.header("Content-Security-Policy", PAGE_CSP);
    c.header("Cache-Control", "no-cache");
    return c.html(body);
  };
  const page = { tags: ["pages"], responses: { 200: { description: "HTML", contentType: "text/html" } } } as const;

  app.get(
    "/ops",
    openapi({
      ...page,
      summary:
        "The ops console: sign in as an admin, then sales, answers, breakers, stuck sagas and dead letters, live",
    }),
    async (c) => html(c, opsPage(await assets())),
  );

  app.get(
    "/shop/sales/:id",
    openapi({
      ...page,
      summary: "A sale's page: countdown, remaining units live, sign in, buy, and the order's status",
      errors: ["NOT_FOUND"],
    }),
    async (c) => {
      const s = await board.find(idParam(c));
      const [p] = await d.db.select({ name: products.name }).from(products).where(eq(products.id, s.productId));
      const remaining =
        (await g.counters(s.id).catch(() => undefined))?.remaining ??
        (await gateFromPostgres(d.db, s.id))?.remaining ??
        0;
      const view = saleView(s, remaining);
      return html(
        c,
        shopPage(
          await assets(),
          { ...s, productName: p?.name ?? "", status: view.status, remaining: view.remaining },
          Date.now(),
        ),
      );
    },
  );

  app.get(
    "/assets/:name",
    openapi({
      tags: ["pages"],
      summary: "The pages' scripts and stylesheet (content-hashed names, cached for a year)",
      responses: { 200: { description: "JavaScript or CSS", contentType: "text/javascript" } },
      errors: ["NOT_FOUND"],
    }),
    async (c) => {
      const name = assetName.safeParse(c.req.param("name"));
      const file = name.success ? (await assets()).files.get(name.data) : undefined;
      if (!file) throw new AppError("NOT_FOUND", "no such asset");
      c.header("Cache-Control", IMMUTABLE);
      c.header("ETag", file.etag);
      if (c.req.header("if-none-match") === file.etag) return c.body(null, 304);
      c.header("Content-Type", file.type);
      return c.body(file.body);
    },
  );
  return app;
}
