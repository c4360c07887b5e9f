// What counts against the gateway's breaker: its faults (5xx, timeouts, no connection), never its answers (4xx).
import { afterAll, describe, expect, test } from "bun:test";
import { breaker } from "./breaker";
import { GatewayError, gatewayClient } from "./gateway-client";

let status = 404;
const gateway = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ error: "x" }, { status }) });
afterAll(() => gateway.stop(true));

describe("gateway client", () => {
  test("404 and 409 are answers: thrown as GatewayError with their status, the breaker stays closed", async () => {
    const client = gatewayClient(
      `http://127.0.0.1:${gateway.port}`,
      1000,
      breaker("test", { failures: 2, openMs: 60_000, timeoutMs: 1000 }),
    );
    for (const s of [404, 404, 409, 400, 404]) {
      status = s;
      const err = await client.get("pay_x").catch((e) => e);
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(s);
    }
    expect(client.breaker.state()).toBe("closed");
    status = 503;
    for (let i = 0; i < 2; i++) await client.get("pay_x").catch(() => {});
    expect(client.breaker.state()).toBe("open");
  });
});
