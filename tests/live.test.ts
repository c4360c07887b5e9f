// The pages' live feeds over plain HTTP: GET /v1/sales/:id/events (public) and GET /v1/ops/stream (admin).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type SseEvent, sseParser } from "../edge/pages/client/sse";
import { client, type Json } from "./client";
import { admin, stack } from "./harness";

let api: ReturnType<typeof client>;
let base: string;
let adminToken: string;
let seller: Awaited<ReturnType<typeof api.user>>;
const open: AbortController[] = [];

/** An event stream read in the background: `next(event, pred)` waits for the next event of that kind that matches. */
async function stream(path: string, token?: string) {
  const ac = new AbortController();
  open.push(ac);
  const res = await fetch(base + path, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  const events: SseEvent[] = [];
  const read = new Map<string, number>(); // event kind -> how far it has been read
  let wake = () => {};
  void (async () => {
    const parse = sseParser();
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      events.push(...parse(value!));
      wake();
    }
  })();
  return {
    async next<T = Json>(event: string, pred: (data: T) => boolean = () => true, ms = 15_000): Promise<T> {
      const until = Date.now() + ms;
      for (;;) {
        for (let i = read.get(event) ?? 0; i < events.length; i++) {
          read.set(event, i + 1);
          const e = events[i]!;
          if (e.event === event && pred(JSON.parse(e.data))) return JSON.parse(e.data);
        }
        if (Date.now() > until) throw new Error(`no ${event} event as expected within ${ms} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    },
    close: () => ac.abort(),
  };
}

async function newSale(quantity: number, startsInS = -1) {
  const p = await api.product(seller.token, 5_000, quantity);
  const s = await api.call("POST", "/v1/sales", {
    token: adminToken,
    body: { productId: p.id, price: 4_000, quantity, startsAt: new Date(Date.now() + startsInS * 1000).toISOString() },
  });
  expect(s.status).toBe(201);
  return s.body.id as string;
}

beforeAll(async () => {
  base = (await stack()).edgeUrl;
  api = client(base);
  adminToken = await api.login(admin.email, admin.password);
  seller = await api.user("seller");
}, 60_000);
afterAll(() => {
  for (const ac of open) ac.abort();
});

describe("GET /v1/sales/:id/events", () => {
  test("the sale at once with the server's clock, then each change of its remaining units", async () => {
    const saleId = await newSale(3);
    const s = await stream(`/v1/sales/${saleId}/events`);
    const first = await s.next("sale");
    expect(first).toMatchObject({ id: saleId, remaining: 3, status: "live" });
    expect(Math.abs(Date.parse(first.now) - Date.now())).toBeLessThan(5_000);
    const shopper = await api.user();
    expect((await api.call("POST", `/v1/sales/${saleId}/purchase`, { token: shopper.token, body: {} })).status).toBe(
      202,
    );
    expect(await s.next("sale")).toMatchObject({ remaining: 2, status: "live" });
    s.close();
  });

  test("a scheduled sale turns live when it starts; an unknown sale is 404 before any stream", async () => {
    const saleId = await newSale(2, 2);
    const s = await stream(`/v1/sales/${saleId}/events`);
    expect(await s.next("sale")).toMatchObject({ status: "scheduled", remaining: 2 });
    expect(await s.next("sale")).toMatchObject({ status: "live", remaining: 2 });
    s.close();
    const missing = await api.call("GET", `/v1/sales/${crypto.randomUUID()}/events`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("NOT_FOUND");
  });
});

describe("GET /v1/ops/stream", () => {
  test("sales with remaining, pending and settled orders; answers by status; every process's breakers; the DLQ's count", async () => {
    const saleId = await newSale(10);
    const s = await stream("/v1/ops/stream", adminToken);
    type SaleRow = {
      id: string;
      remaining: number | null;
      pending: number;
      settled: number;
      confirmed: number;
      admitted: number | null;
    };
    const before = (
      await s.next<SaleRow[]>("sales", (rows) => rows.some((r) => r.id === saleId && r.remaining !== null))
    ).find((r) => r.id === saleId)!;
    expect(before).toMatchObject({ remaining: 10, pending: 0, settled: 0, admitted: 0 });

    const shoppers = await Promise.all([1, 2, 3, 4].map(() => api.user()));
    const answers = await Promise.all(
      shoppers.map((u) => api.call("POST", `/v1/sales/${saleId}/purchase`, { token: u.token, body: {} })),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
    // settled whatever the outcome (the test stack's short payment deadline may cancel one, and its unit comes back)
    const after = await s.next<SaleRow[]>("sales", (rows) =>
      rows.some((r) => r.id === saleId && r.settled === 4 && r.remaining === 10 - r.confirmed),
    );
    expect(after.find((r) => r.id === saleId)).toMatchObject({ pending: 0, settled: 4, admitted: 4 });

    // the edge's ticks: the 202s of those purchases are in the chart's window
    const chart = await s.next<{ from: number; statuses: Record<string, number[]> }>(
      "answers",
      (a) => (a.statuses["202"] ?? []).reduce((x, y) => x + y, 0) >= 4,
    );
    expect(chart.statuses["202"]!.length).toBe(300);

    const health = await s.next<{
      processes: { proc: string }[];
      breakers: { name: string; state: string; proc: string }[];
      degraded: number;
    }>("health", (h) => ["edge", "payment", "notification"].every((p) => h.processes.some((x) => x.proc === p)));
    expect(health.breakers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ proc: "edge", name: "payment_gateway", state: "closed" }),
        expect.objectContaining({ proc: "payment", name: "payment_gateway", state: "closed" }),
        expect.objectContaining({ proc: "notification", name: "notify_webhook", state: "closed" }),
      ]),
    );
    // (earlier tests of the run may have made Redis slow: the count is the edge's since it started)
    expect(Number.isInteger(health.degraded) && health.degraded >= 0).toBe(true);

    const audits = await s.next<Record<string, { quiet: boolean; invariants: Record<string, { pass: boolean }> }>>(
      "audits",
      (a) => a[saleId]?.quiet === true,
      20_000,
    );
    expect(Object.values(audits[saleId]!.invariants).every((i) => i.pass)).toBe(true);
    const dlq = await s.next<{ total: number; items: unknown[] }>("dlq");
    const listed = await api.call("GET", "/v1/ops/dlq?limit=100", { token: adminToken });
    expect(dlq.items.length).toBe(Math.min(20, listed.body.items.length));
    expect(Array.isArray(await s.next("stuck"))).toBe(true);
    s.close();
  }, 60_000);

  test("for admins only", async () => {
    const shopper = await api.user();
    expect((await api.call("GET", "/v1/ops/stream", { token: shopper.token })).status).toBe(403);
    expect((await api.call("GET", "/v1/ops/stream")).status).toBe(401);
  });
});
