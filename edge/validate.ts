// Request bodies and params: JSON only, parsed against zod schemas; failures become problem answers.
import type { Context } from "hono";
import { z } from "zod";
import { AppError } from "./errors";

// application/json or a +json type (RFC 6839), with parameters after a semicolon; not application/json-seq,
// text/json or anything else merely starting like JSON
const JSON_TYPE = /^application\/([\w.!#$&^-]+\+)?json\s*(;|$)/i;

/** 415 unless the request says its body is JSON. */
export function requireJson(c: Context): void {
  if (!JSON_TYPE.test(c.req.header("content-type") ?? ""))
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", "send application/json");
}

export async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  requireJson(c);
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new AppError("MALFORMED_JSON", "the body is not valid JSON");
  }
  return parse(schema, raw);
}

export function parse<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const errors = r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new AppError(
      "VALIDATION_FAILED",
      errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("; "),
      { errors },
    );
  }
  return r.data;
}

// C0 control characters: Postgres refuses NUL in text (a 500 before this rule), and the rest hide in logs,
// terminals and other systems' parsers. Multi-line text (a description) may hold tab and newline.
const SINGLE_LINE = /^[^\x00-\x1f]*$/;
const MULTI_LINE = /^[^\x00-\x08\x0b-\x1f]*$/;

/** A text field of a request: every free-text string of every request schema starts here. */
export function text(o: { multiline?: boolean } = {}) {
  return o.multiline
    ? z.string().regex(MULTI_LINE, "control characters other than tab and newline are not allowed")
    : z.string().regex(SINGLE_LINE, "control characters are not allowed");
}

export const uuidParam = z.string().uuid();
export function idParam(c: Context, name = "id"): string {
  const v = c.req.param(name);
  if (!uuidParam.safeParse(v).success) throw new AppError("NOT_FOUND");
  return v!;
}
