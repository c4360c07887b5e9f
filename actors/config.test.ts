import { describe, expect, test } from "bun:test";
import { loadConfig, warnings } from "./config";

describe("actor configuration", () => {
  test("the public development WEBHOOK_SECRET is refused in production (payment actor and simulator)", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/WEBHOOK_SECRET/);
    expect(loadConfig({ NODE_ENV: "production", WEBHOOK_SECRET: "a-real-secret-from-the-vault" }).WEBHOOK_SECRET).toBe(
      "a-real-secret-from-the-vault",
    );
  });

  test("outside production it starts, with a warning", () => {
    expect(warnings(loadConfig({}))).toEqual([expect.stringContaining("WEBHOOK_SECRET")]);
    expect(warnings(loadConfig({ WEBHOOK_SECRET: "a-real-secret-from-the-vault" }))).toEqual([]);
  });
});
