// Builds the OpenAPI 3.1 document from a Hono app's own routes: the operation each `openapi()` middleware
// describes, the roles each `requireRole()` guard admits, and the problem answers the middleware chain adds.
import type { RouterRoute } from "hono/types";
import { z } from "zod";
import { type Code, codes } from "../errors";
import { rolesOf } from "../middleware/auth";
import { operationOf, type Reply } from "./operation";

type Json = Record<string, unknown>;
export type OpenApiDocument = {
  openapi: string;
  info: Json;
  paths: Record<string, Record<string, Json>>;
  components: Json;
  tags: Json[];
};

const problemSchema = {
  type: "object",
  description:
    "RFC 9457 problem details; `code` is stable and machine-readable, `instance` is the request id (also in X-Request-Id).",
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", enum: Object.keys(codes) },
    instance: { type: "string" },
    errors: {
      type: "array",
      items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } },
    },
  },
  required: ["type", "title", "status", "detail", "code"],
};

const rateHeaders = {
  "RateLimit-Limit": { description: "Bucket capacity.", schema: { type: "integer" } },
  "RateLimit-Remaining": { description: "Tokens left.", schema: { type: "integer" } },
  "RateLimit-Reset": { description: "Seconds until the next refill.", schema: { type: "integer" } },
  "X-Request-Id": { description: "The request id (the problem's `instance`).", schema: { type: "string" } },
};

export function openapiDocument(
  routes: RouterRoute[],
  info: { title: string; version: string; description?: string },
): OpenApiDocument {
  const components = {
    schemas: { Problem: problemSchema } as Record<string, unknown>,
    securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT (EdDSA)" } },
  };

  /** zod -> JSON Schema 2020-12 (what OpenAPI 3.1 speaks); named schemas become shared components. */
  const schemaOf = (s: z.ZodType, io: "input" | "output"): Json => {
    const { $schema: _, $defs, ...json } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Json & { $defs?: Json };
    const relink = <T>(v: T): T => JSON.parse(JSON.stringify(v).replaceAll('"#/$defs/', '"#/components/schemas/'));
    for (const [id, def] of Object.entries($defs ?? {})) components.schemas[id] = relink(def);
    return relink(json);
  };

  const grouped = new Map<string, RouterRoute[]>();
  for (const r of routes) {
    if (r.method === "ALL") continue; // middleware
    const k = `${r.method} ${r.path}`;
    grouped.set(k, [...(grouped.get(k) ?? []), r]);
  }

  const paths: OpenApiDocument["paths"] = {};
  const tags = new Set<string>();
  for (const [k, handlers] of grouped) {
    const [method, path] = k.split(" ") as [string, string];
    const op = handlers.map((h) => operationOf(h.handler)).find(Boolean);
    if (!op) continue; // undocumented: the coverage test names it
    const roles = handlers.map((h) => rolesOf(h.handler)).find(Boolean);
    const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const openPath = path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");
    const tag = op.tags?.[0] ?? path.split("/")[path.startsWith("/v1/") ? 2 : 1] ?? "ops";
    tags.add(tag);

    const parameters: Json[] = [
      ...names.map((name) => ({
        name,
        in: "path",
        required: true,
        schema: op.params?.[name] ? schemaOf(op.params[name]!, "input") : { type: "string", format: "uuid" },
      })),
      ...Object.entries(op.query?.shape ?? {}).map(([name, s]) => ({
        name,
        in: "query",
        required: !(s as z.ZodType).safeParse(undefined).success,
        schema: schemaOf(s as z.ZodType, "input"),
      })),
      ...Object.entries(op.headers ?? {}).map(([name, h]) => ({
        name,
        in: "header",
        required: !!h.required,
        description: h.description,
        schema: { type: "string" },
      })),
    ];

    const failures = new Set<Code>(op.errors ?? []);
    if (op.body)
      for (const c of ["VALIDATION_FAILED", "MALFORMED_JSON", "UNSUPPORTED_MEDIA_TYPE", "PAYLOAD_TOO_LARGE"] as const)
        failures.add(c);
    if (op.query) failures.add("VALIDATION_FAILED");
    if (names.length) failures.add("NOT_FOUND");
    if (roles) for (const c of ["UNAUTHENTICATED", "TOKEN_EXPIRED"] as const) failures.add(c);
    if (roles?.length) failures.add("FORBIDDEN");
    if (op.rateLimited !== false) failures.add("RATE_LIMITED");
    failures.add("INTERNAL");

    const responses: Json = {};
    for (const [status, reply] of Object.entries(op.responses) as [string, Reply][]) {
      const r = "safeParse" in reply ? { description: "OK", schema: reply as z.ZodType } : reply;
      responses[status] = {
        description: r.description,
        headers: op.rateLimited === false ? undefined : rateHeaders,
        ...(r.schema
          ? { content: { [r.contentType ?? "application/json"]: { schema: schemaOf(r.schema, "output") } } }
          : {}),
      };
    }
    const byStatus = new Map<number, Code[]>();
    for (const c of failures) byStatus.set(codes[c][0], [...(byStatus.get(codes[c][0]) ?? []), c]);
    for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
      responses[String(status)] = {
        description: list.map((c) => `${c}: ${codes[c][1]}`).join("; "),
        ...(status === 429
          ? {
              headers: {
                ...rateHeaders,
                "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } },
              },
            }
          : {}),
        content: {
          "application/problem+json": {
            schema: { allOf: [{ $ref: "#/components/schemas/Problem" }, { properties: { code: { enum: list } } }] },
          },
        },
      };
    }

    const who = roles === undefined ? "public" : roles.length ? roles.join(", ") : "any signed-in user";
    paths[openPath] ??= {};
    paths[openPath][method.toLowerCase()] = {
      operationId: (
        method.toLowerCase() +
        openPath.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(\w)/g, (_, ch: string) => ch.toUpperCase())
      ).replace(/\W/g, ""),
      summary: op.summary,
      description: [op.description, `Who: ${who}.`].filter(Boolean).join("\n\n"),
      tags: [tag],
      "x-roles": roles === undefined ? "public" : roles.length ? roles : "any",
      security: roles === undefined ? [] : [{ bearer: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(op.body, "input") } } } }
        : {}),
      responses,
    };
  }

  return {
    openapi: "3.1.0",
    info,
    tags: [...tags].sort().map((name) => ({ name })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components,
  };
}

/** Method and path of every route that has no `openapi()` description. */
export function undocumented(routes: RouterRoute[]): string[] {
  const seen = new Map<string, boolean>();
  for (const r of routes) {
    if (r.method === "ALL") continue;
    const k = `${r.method} ${r.path}`;
    seen.set(k, (seen.get(k) ?? false) || !!operationOf(r.handler));
  }
  return [...seen].filter(([, ok]) => !ok).map(([k]) => k);
}
