import { describe, expect, test } from "bun:test";
import { MIN_HOLD_GRACE_MS, PLACEMENT_WINDOW_MS } from "../domain/sale";
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

  test("a hold grace shorter than the gate's placement window and its margin is refused", () => {
    expect(() => loadConfig({ HOLD_GRACE_MS: String(MIN_HOLD_GRACE_MS - 1) })).toThrow(/HOLD_GRACE_MS/);
    expect(loadConfig({ HOLD_GRACE_MS: String(MIN_HOLD_GRACE_MS) }).HOLD_GRACE_MS).toBe(MIN_HOLD_GRACE_MS);
    expect(MIN_HOLD_GRACE_MS).toBeGreaterThan(PLACEMENT_WINDOW_MS);
  });
});
