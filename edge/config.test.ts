import { describe, expect, test } from "bun:test";
import { loadConfig, warnings } from "./config";

describe("edge configuration", () => {
  test("the public development WEBHOOK_SECRET is refused in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/WEBHOOK_SECRET/);
    expect(() => loadConfig({ NODE_ENV: "production", WEBHOOK_SECRET: "dev-webhook-secret-change-me" })).toThrow(
      /WEBHOOK_SECRET/,
    );
    expect(loadConfig({ NODE_ENV: "production", WEBHOOK_SECRET: "a-real-secret-from-the-vault" }).WEBHOOK_SECRET).toBe(
      "a-real-secret-from-the-vault",
    );
  });

  test("outside production it starts, with a warning", () => {
    expect(warnings(loadConfig({}))).toEqual([expect.stringContaining("WEBHOOK_SECRET")]);
    expect(warnings(loadConfig({ WEBHOOK_SECRET: "a-real-secret-from-the-vault" }))).toEqual([]);
  });

  test("METRICS_PORT is optional; METRICS_HOST defaults to loopback", () => {
    expect(loadConfig({}).METRICS_PORT).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: "9100" })).toMatchObject({ METRICS_PORT: 9100, METRICS_HOST: "127.0.0.1" });
    expect(loadConfig({}).MAX_STREAMS_PER_USER).toBe(10);
  });
});
