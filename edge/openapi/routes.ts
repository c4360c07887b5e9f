// GET /openapi.json and GET /docs, built once from the finished app on first request.
import { Hono } from "hono";
import type { RouterRoute } from "hono/types";
import { z } from "zod";
import type { Env } from "../deps";
import { docsPage } from "./docs-page";
import { type OpenApiDocument, openapiDocument } from "./document";
import { openapi } from "./operation";

const info = {
  title: "flashsale",
  version: "1",
  description:
    "Flash-sale commerce API. JSON in and out; errors are application/problem+json. Bearer EdDSA access tokens from POST /v1/auth/login; every answer carries X-Request-Id, and every answer that took a token from a bucket carries RateLimit-* (a valid token's bucket is its user's, an anonymous request's its address's). Without RateLimit-*: a purchase of a sold-out, ended or not yet started sale answered from memory before any check, a 401 for a token that failed verification (charged to its address's budget of signature checks instead), and the probes and the signed webhook.",
};

/** `routes` is read when first asked, so every router mounted after this one is included. */
export function openapiRoutes(routes: () => RouterRoute[]) {
  const app = new Hono<Env>();
  let doc: OpenApiDocument | undefined;
  let page: ReturnType<typeof docsPage> | undefined;
  const document = () => (doc ??= openapiDocument(routes(), info));

  app.get(
    "/openapi.json",
    openapi({
      summary: "This API as an OpenAPI 3.1 document",
      tags: ["docs"],
      responses: { 200: { description: "OpenAPI 3.1", schema: z.looseObject({ openapi: z.string() }) } },
    }),
    (c) => c.json(document()),
  );
  app.get(
    "/docs",
    openapi({
      summary: "This API as a browsable page (works offline)",
      tags: ["docs"],
      responses: { 200: { description: "HTML", contentType: "text/html" } },
    }),
    (c) => {
      page ??= docsPage(document());
      c.header("Content-Security-Policy", page.csp);
      return c.html(page.html);
    },
  );
  return app;
}
