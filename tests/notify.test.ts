// Notifications end to end: a stack of its own whose NOTIFY_WEBHOOK_URL is a local sink that refuses the
// first posts about each order; every confirmed and cancelled order still gets exactly one accepted post.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { inArray } from "drizzle-orm";
import { createDb, type Db, notifications } from "../db";
import { type PrivateStack, root } from "../scripts/lib/private-stack";
import { client, eventually } from "./client";
import { ownStack } from "./harness";

const REFUSALS = 2;
const posts: { text: string; ok: boolean; at: number }[] = [];
const refused = new Map<string, number>();
const sink = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const body = (await req.json()) as { text?: unknown };
    const text = String(body.text);
    const n = refused.get(text) ?? 0;
    const ok = n >= REFUSALS;
    if (!ok) refused.set(text, n + 1);
    posts.push({ text, ok, at: performance.now() });
    return new Response(ok ? "ok" : "try later", { status: ok ? 200 : 503 });
  },
});

let s: PrivateStack;
let api: ReturnType<typeof client>;
let db: Db;

beforeAll(async () => {
  s = await ownStack({
    name: `notify_${process.pid}`,
    logFile: join(root, ".data", `test-notify-${process.pid}.log`),
    env: {
      NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/services/hook`,
      NOTIFY_BACKOFF_MS: "50",
      RATE_LIMIT_CAPACITY: "100000",
      RATE_LIMIT_REFILL_PER_S: "100000",
    },
  });
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
}, 60_000);
afterAll(async () => {
  await db?.$client.end();
  await s?.stop();
  sink.stop(true);
});

describe("notification webhook", () => {
  test("confirmed and cancelled orders are posted until the sink takes them, once each, and recorded", async () => {
    const seller = await api.user("seller");
    const shopper = await api.user("shopper");
    const p = await api.product(seller.token, 1000, 10);
    const place = async (paymentMethod: string) =>
      (
        await api.call("POST", "/v1/orders", {
          token: shopper.token,
          body: { items: [{ productId: p.id, quantity: 1 }], paymentMethod },
        })
      ).body.orderId as string;
    const [ok, declined] = [await place("card_ok"), await place("card_declined")];
    expect((await api.settled(shopper.token, ok)).status).toBe("CONFIRMED");
    expect((await api.settled(shopper.token, declined)).reason).toBe("PAYMENT_DECLINED");

    const about = (id: string) => posts.filter((x) => x.text.includes(id));
    await eventually(
      async () => (about(ok).some((x) => x.ok) && about(declined).some((x) => x.ok) ? true : undefined),
      15_000,
      "both accepted",
    );
    await Bun.sleep(500);
    for (const id of [ok, declined]) {
      expect(about(id).map((x) => x.ok)).toEqual([false, false, true]);
      const [a, b, c] = about(id).map((x) => x.at);
      // backing off: 50 ms then 100 ms, each with jitter of ±50 %
      expect(b! - a!).toBeGreaterThanOrEqual(25);
      expect(c! - b!).toBeGreaterThanOrEqual(50);
    }
    expect(about(ok)[2]!.text).toBe(`Order ${ok} confirmed: 1000 KRW`);
    expect(about(declined)[2]!.text).toBe(`Order ${declined} cancelled (PAYMENT_DECLINED)`);
    const rows = await db
      .select()
      .from(notifications)
      .where(inArray(notifications.orderId, [ok, declined]));
    expect(rows.map((r) => `${r.kind}:${r.delivered}`).sort()).toEqual(["cancelled:webhook", "confirmed:webhook"]);
  });
});
