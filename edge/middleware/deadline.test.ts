import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { logger } from "../../nats";
import type { Env } from "../deps";
import { AppError, renderError } from "../errors";
import { createMetrics } from "../metrics";
import { deadline } from "./deadline";
import { front } from "./front";

describe("request deadline", () => {
  test("work past its deadline is refused TIMEOUT within a tick; work in time passes untouched", async () => {
    const limit = deadline(150, 25);
    const t = performance.now();
    const late = await limit.race(Bun.sleep(600).then(() => "late")).catch((err: AppError) => err);
    const ms = performance.now() - t;
    expect(late).toBeInstanceOf(AppError);
    expect((late as AppError).code).toBe("TIMEOUT");
    expect(ms).toBeGreaterThanOrEqual(145);
    expect(ms).toBeLessThan(150 + 25 + 60);
    expect(await limit.race(Promise.resolve("fast"))).toBe("fast");
    expect(limit.pending()).toBe(0);
  });

  const layer = front({
    log: logger({ test: "deadline" }),
    metrics: createMetrics(),
    trustedProxies: "",
    onError: renderError,
    timeoutMs: 150,
  });
  const app = new Hono<Env>();
  app.use(layer);
  app.get("/fast", (c) => c.text("ok"));
  app.get("/slow", async (c) => {
    await Bun.sleep(600);
    return c.text("late");
  });
  app.get("/fails", () => {
    throw new AppError("NOT_FOUND");
  });
  app.onError(renderError);

  test("a request past its deadline is answered 504 TIMEOUT as a problem, with the front layer's headers", async () => {
    const res = await app.request("/slow");
    expect(res.status).toBe(504);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("x-request-id")).toBeString();
    expect(((await res.json()) as { code: string }).code).toBe("TIMEOUT");
  });

  test("fast answers and errors pass untouched, and leave nothing waiting", async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => app.request(i % 2 ? "/fast" : "/fails")));
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(100).fill(200), ...Array(100).fill(404)]);
    expect(layer.pending()).toBe(0);
  });
});
