import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import type { Env } from "../deps";
import { AppError, renderError } from "../errors";
import { verifiedEmail } from "./verified-email";

function app(required: boolean, verified: Set<string>) {
  const asked: string[] = [];
  const a = new Hono<Env>();
  a.use(async (c, next) => {
    const sub = c.req.header("x-user");
    if (sub) c.set("user", { sub, role: "shopper" } as never);
    await next();
  });
  a.post("/buy", verifiedEmail({ required, isVerified: async (id) => (asked.push(id), verified.has(id)) }), (c) => c.text("ok"));
  a.onError(renderError);
  return { a, asked };
}

describe("verifiedEmail", () => {
  test("off: everyone passes and nothing is asked", async () => {
    const { a, asked } = app(false, new Set());
    expect((await a.request("/buy", { method: "POST", headers: { "x-user": "u1" } })).status).toBe(200);
    expect(asked).toEqual([]);
  });

  test("on: an unverified account is 403 EMAIL_NOT_VERIFIED, asked again each time until verified, then remembered", async () => {
    const verified = new Set<string>();
    const { a, asked } = app(true, verified);
    const buy = () => a.request("/buy", { method: "POST", headers: { "x-user": "u1" } });
    const r = await buy();
    expect(r.status).toBe(403);
    expect(((await r.json()) as { code: string }).code).toBe("EMAIL_NOT_VERIFIED");
    expect((await buy()).status).toBe(403);
    verified.add("u1");
    expect((await buy()).status).toBe(200);
    expect((await buy()).status).toBe(200);
    expect(asked).toEqual(["u1", "u1", "u1"]);
  });

  test("on: no user is 401", async () => {
    const { a } = app(true, new Set());
    const r = await a.request("/buy", { method: "POST" });
    expect(r.status).toBe(new AppError("UNAUTHENTICATED").status);
  });
});
