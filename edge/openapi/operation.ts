// `openapi({...})`: the middleware placed right before a handler that both validates its input (with the
// zod schemas given here) and describes the operation for /openapi.json, so the document cannot drift from
// what the handler accepts. Path and method come from the router itself.
import type { MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { Env } from "../deps";
import type { Code } from "../errors";
import { body, parse } from "../validate";

export const OPERATION = Symbol("openapi.operation");

type Schema = z.ZodType;
export type Reply = Schema | { description: string; schema?: Schema; contentType?: string };

export type Operation = {
  summary: string;
  description?: string;
  /** Groups operations on the docs page; by default the first path segment after the version. */
  tags?: readonly string[];
  /** The JSON body, validated: 415 when not JSON, 400 MALFORMED_JSON, 400 VALIDATION_FAILED. */
  body?: Schema;
  /** The handler parses the body itself (after a signature check over the raw bytes, or a refusal that needs no body): `body` is documented, not parsed here. */
  rawBody?: boolean;
  /** The query string, validated: 400 VALIDATION_FAILED. */
  query?: z.ZodObject;
  /** Path parameters that are not UUIDs (those are the default). */
  params?: Record<string, Schema>;
  /** Success answers by status. */
  responses: Partial<Record<200 | 201 | 202 | 204, Reply>>;
  /** Failures this operation may answer besides those the middleware chain adds. */
  errors?: readonly Code[];
  /** false for routes mounted before the rate limiter (health probes, the gateway's webhook). */
  rateLimited?: boolean;
  /** Request headers the handler reads. */
  headers?: Record<string, { description: string; required?: boolean }>;
};

type Validated<O extends Operation> = {
  in: (O["body"] extends Schema ? { json: z.input<O["body"]> } : object) &
    (O["query"] extends Schema ? { query: Record<string, string> } : object);
  out: (O["body"] extends Schema ? { json: z.output<O["body"]> } : object) &
    (O["query"] extends Schema ? { query: z.output<O["query"]> } : object);
};

export type DescribedHandler = MiddlewareHandler & { [OPERATION]: Operation };

export function openapi<const O extends Operation, P extends string = string>(
  op: O,
): MiddlewareHandler<Env, P, Validated<O>> {
  const bodySchema = op.rawBody ? undefined : op.body;
  const query = op.query;
  const mw: MiddlewareHandler<Env, P, Validated<O>> = query || bodySchema
    ? async function openapi(c, next) {
        if (query) c.req.addValidatedData("query", parse(query, c.req.query()) as object);
        if (bodySchema) c.req.addValidatedData("json", (await body(c, bodySchema)) as object);
        await next();
      }
    : // nothing to validate: only a description, passed through at no cost
      function openapi(_c, next) {
        return next();
      };
  return Object.assign(mw, { [OPERATION]: op as Operation });
}

export const operationOf = (h: unknown): Operation | undefined =>
  (h as Partial<DescribedHandler> | undefined)?.[OPERATION];
