// The document is built from the routers themselves: every route of the edge must be described, and
// what a route validates is what the document says. Also: the built app never leaks a failure's insides.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { Redis } from "ioredis";
import { z } from "zod";
import { createDb } from "../../db";
import { connectBus, logger } from "../../nats";
import { ensureNats } from "../../scripts/lib/services";
import { createApp } from "../app";
import { loadConfig } from "../config";
import type { Deps, Env } from "../deps";
import { AppError, problem } from "../errors";
import { createMetrics } from "../metrics";
import { requireRole } from "../middleware/auth";
import { openapiDocument, undocumented } from "./document";
import { openapi } from "./operation";

/** The whole edge app (on a private NATS server: some routers subscribe when built); only its documentation routes are asked. */
const config = loadConfig({});
const natsDir = mkdtempSync(join(tmpdir(), "openapi-test-"));
const natsUrl = `nats://127.0.0.1:${freePort()}`;
const nats = await ensureNats(natsUrl, natsDir);
const bus = await connectBus(natsUrl, "openapi-test");
const redis = new Redis(config.REDIS_URL, { lazyConnect: true });
const db = createDb(config.DATABASE_URL, { max: 1 });
afterAll(async () => {
  await bus.nc.close();
  redis.disconnect();
  await db.$client.end();
  nats?.proc.kill("SIGTERM");
  await nats?.proc.exited;
  rmSync(natsDir, { recursive: true, force: true });
});

function freePort() {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

describe("the OpenAPI document of the edge", () => {
  const app = createApp({
    config,
    db,
    redis,
    bus,
    log: logger({ test: "openapi" }),
    metrics: createMetrics(),
  } as unknown as Deps);
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  afterAll(() => server.stop(true));
  const get = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`);

  test("every route is described", () => {
    expect(undocumented(app.routes)).toEqual([]);
  });

  test("every free-text field of every request refuses control characters (one shared rule)", async () => {
    type Schema = {
      $ref?: string;
      pattern?: string;
      type?: string;
      format?: string;
      enum?: unknown[];
      const?: unknown;
      allOf?: Schema[];
      anyOf?: Schema[];
      oneOf?: Schema[];
      properties?: Record<string, Schema>;
      items?: Schema;
      additionalProperties?: Schema | boolean;
    };
    type Op = {
      requestBody?: { content?: Record<string, { schema?: Schema }> };
      parameters?: { name: string; in: string; schema: Schema }[];
    };
    const doc = (await (await get("/openapi.json")).json()) as {
      paths: Record<string, Record<string, Op>>;
      components: { schemas: Record<string, Schema> };
    };
    const free: string[] = [];
    const walk = (node: Schema | boolean | undefined, where: string): void => {
      if (!node || typeof node !== "object") return;
      if (node.$ref) {
        walk(doc.components.schemas[node.$ref.split("/").at(-1)!], where);
        return;
      }
      const patterns = [node.pattern, ...(node.allOf ?? []).map((n) => n.pattern)];
      const guarded = patterns.some((p) => p === "^[^\\x00-\\x1f]*$" || p === "^[^\\x00-\\x08\\x0b-\\x1f]*$");
      if (node.type === "string" && !node.format && !node.enum && node.const === undefined && !guarded)
        free.push(where);
      for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${where}.${k}`);
      for (const k of ["items", "additionalProperties"] as const) walk(node[k], `${where}[]`);
      for (const k of ["anyOf", "oneOf"] as const) for (const v of node[k] ?? []) walk(v, where);
    };
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        walk(op.requestBody?.content?.["application/json"]?.schema, `${method.toUpperCase()} ${path} body`);
        for (const p of op.parameters ?? [])
          if (p.in === "query") walk(p.schema, `${method.toUpperCase()} ${path} ?${p.name}`);
      }
    expect(free).toEqual([]);
  });

  test("it is OpenAPI 3.1 with request schemas, roles and problem answers", async () => {
    const res = await get("/openapi.json");
    expect(res.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: the served document read many levels deep; a type for it would restate OpenAPI 3.1
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe("3.1.0");
    const signup = doc.paths["/v1/auth/signup"].post;
    expect(signup.security).toEqual([]);
    expect(signup.requestBody.content["application/json"].schema.properties.password.minLength).toBe(8);
    expect(signup.responses["201"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/User" });
    expect(doc.components.schemas.User.properties.role.enum).toEqual(["shopper", "seller", "admin"]);
    expect(signup.responses["409"].content["application/problem+json"].schema.allOf[1].properties.code.enum).toEqual([
      "EMAIL_TAKEN",
    ]);
    const role = doc.paths["/v1/admin/users/{id}/role"].patch;
    expect(role["x-roles"]).toEqual(["admin"]);
    expect(role.security).toEqual([{ bearer: [] }]);
    expect(role.parameters[0]).toMatchObject({ name: "id", in: "path", required: true });
    expect(Object.keys(role.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "403", "404", "429"]));
    expect(doc.paths["/v1/me"].get["x-roles"]).toBe("any");
    expect(doc.paths["/healthz"].get.responses["429"]).toBeUndefined();
  });

  test("/docs is one self-contained page under a strict CSP", async () => {
    const res = await get("/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("/v1/auth/login");
    expect(html).not.toMatch(/<script|https?:\/\/(?!json-schema)/);
    expect(res.headers.get("content-security-policy")).toStartWith("default-src 'none'; style-src 'sha256-");
  });
});

describe("the edge app's failures", () => {
  test("a failure inside a handler is 500 INTERNAL with the request id, and nothing of the failure", async () => {
    const broken = createApp({
      config,
      db: createDb("postgres://postgres@127.0.0.1:1/nowhere", { max: 1 }),
      redis,
      bus,
      log: logger({ test: "openapi" }),
      metrics: createMetrics(),
    } as unknown as Deps);
    const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: broken.fetch });
    try {
      const res = await fetch(`http://127.0.0.1:${s.port}/v1/products`);
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const body = JSON.parse(text);
      expect(body).toMatchObject({ status: 500, code: "INTERNAL", instance: res.headers.get("x-request-id") });
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres|stack|at /i);
    } finally {
      s.stop(true);
    }
  });
});

describe("openapi() validates what it documents", () => {
  const body = z.object({ n: z.number().int().min(1) });
  const query = z.object({ limit: z.coerce.number().int().max(10).default(5) });
  const app = new Hono<Env>()
    .post("/things", openapi({ summary: "make", body, query, responses: { 201: body } }), (c) =>
      c.json({ body: c.req.valid("json"), query: c.req.valid("query") }, 201),
    )
    .get("/guarded/:id", requireRole("admin"), openapi({ summary: "guarded", responses: { 200: body } }), (c) =>
      c.json({ n: 1 }),
    );
  app.onError((err, c) => (err instanceof AppError ? problem(c, err) : c.text("boom", 500)));
  const post = (b: string, type = "application/json", qs = "") =>
    app.request(`/things${qs}`, { method: "POST", body: b, headers: { "content-type": type } });

  test("valid input reaches the handler parsed", async () => {
    const res = await post(`{"n":2}`, "application/json", "?limit=7");
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ body: { n: 2 }, query: { limit: 7 } });
  });

  test("wrong types are 400 VALIDATION_FAILED problem+json", async () => {
    for (const res of [await post(`{"n":"2"}`), await post(`{"n":1}`, "application/json", "?limit=99")]) {
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(((await res.json()) as { code: string }).code).toBe("VALIDATION_FAILED");
    }
  });

  test("malformed JSON is 400 MALFORMED_JSON, another media type 415", async () => {
    expect(((await (await post(`{"n":`)).json()) as { code: string }).code).toBe("MALFORMED_JSON");
    const res = await post("n=1", "application/x-www-form-urlencoded");
    expect(res.status).toBe(415);
    expect(((await res.json()) as { code: string }).code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  test("the document of a small app", () => {
    const doc = openapiDocument(app.routes, { title: "t", version: "1" });
    const op = doc.paths["/things"]!.post!;
    expect(op.parameters).toEqual([
      {
        name: "limit",
        in: "query",
        required: false,
        schema: expect.objectContaining({ type: "integer", maximum: 10, default: 5 }),
      },
    ]);
    expect(op.requestBody).toMatchObject({
      content: { "application/json": { schema: { type: "object", required: ["n"] } } },
    });
    expect(doc.paths["/guarded/{id}"]!.get!["x-roles"]).toEqual(["admin"]);
  });
});
