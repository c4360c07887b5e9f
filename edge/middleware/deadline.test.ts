import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import type { Env } from "../deps";
import { AppError, problem } from "../errors";
import { deadline } from "./deadline";

describe("request deadline", () => {
  const limit = deadline(150, 25);
  const app = new Hono<Env>();
  app.use(limit);
  app.get("/fast", (c) => c.text("ok"));
  app.get("/slow", async (c) => {
    await Bun.sleep(600);
    return c.text("late");
  });
  app.get("/fails", () => {
    throw new AppError("NOT_FOUND");
  });
  app.onError((err, c) => problem(c, err instanceof AppError ? err : new AppError("INTERNAL")));

  test("a request past its deadline is answered 504 TIMEOUT within a tick", async () => {
    const t = performance.now();
    const res = await app.request("/slow");
    const ms = performance.now() - t;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { code: string }).code).toBe("TIMEOUT");
    expect(ms).toBeGreaterThanOrEqual(145);
    expect(ms).toBeLessThan(150 + 25 + 60);
  });

  test("fast answers and errors pass untouched, and leave nothing waiting", async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => app.request(i % 2 ? "/fast" : "/fails")));
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(100).fill(200), ...Array(100).fill(404)]);
    expect(limit.pending()).toBe(0);
  });
});
