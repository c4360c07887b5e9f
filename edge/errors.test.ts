// The error handler: an unexpected error is a 500 that leaks nothing, and its log line holds no query
// parameters, hash, token or password.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { logger } from "../nats";
import { captured, failedInsert } from "../tests/log-capture";
import type { Env } from "./deps";
import { renderError } from "./errors";
import { createMetrics } from "./metrics";
import { front } from "./middleware/front";

describe("renderError", () => {
  test("a failed query's parameters reach neither the answer nor the log", async () => {
    const app = new Hono<Env>();
    app.use(
      front({ log: logger({ test: "errors" }), metrics: createMetrics(), trustedProxies: "", onError: renderError }),
    );
    app.post("/boom", () => {
      throw failedInsert();
    });
    app.onError(renderError);
    let res!: Response;
    const out = await captured(
      async () =>
        (res = await app.request("/boom", { method: "POST", headers: { authorization: "Bearer abc.def.ghi" } })),
    );
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe("INTERNAL");
    expect(JSON.stringify(body)).not.toContain("argon2id");
    expect(out).toContain("unhandled error");
    for (const secret of ["argon2id", "victim@example.com", "abc.def.ghi"]) expect(out).not.toContain(secret);
  });

  test("Redis out of reach (a node lost, a failover): 503 with Retry-After, never a 500", async () => {
    const app = new Hono<Env>();
    app.use(
      front({ log: logger({ test: "errors" }), metrics: createMetrics(), trustedProxies: "", onError: renderError }),
    );
    const thrown = [
      new Error("Connection is closed."),
      new Error("CLUSTERDOWN The cluster is down"),
      new Error("Too many Cluster redirections. Last error: Error: Connection is closed."),
    ];
    let i = 0;
    app.get("/redis", () => {
      throw thrown[i++];
    });
    app.onError(renderError);
    for (const err of thrown) {
      let res!: Response;
      await captured(async () => (res = await app.request("/redis")));
      expect(res.status, err.message).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(((await res.json()) as { code: string }).code).toBe("UPSTREAM_UNAVAILABLE");
    }
  });
});
