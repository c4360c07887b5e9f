// A payment-gateway simulator standing in for the external PG: it takes charges idempotently and answers a
// card's authorization in the call (after GATEWAY_LATENCY_MS), as card PGs do; a share of charges
// (GATEWAY_ASYNC_RATE) is answered `pending` and decided later through the signed webhook. It can be asked for
// a payment's true state. Test methods: card_ok succeeds, card_declined is declined, card_no_answer never answers.

import { defaults } from "../../domain/config";
import { type GatewayPayment, signWebhook } from "../../domain/payment";
import { logger } from "../../nats";
import { loadConfig, warnings } from "../config";

const config = loadConfig();
const log = logger({ proc: "gateway" }, config.LOG_LEVEL);
for (const w of warnings(config)) log.warn(w);
const byId = new Map<string, GatewayPayment>();
const byKey = new Map<string, GatewayPayment>();
const refundKeys = new Set<string>();
const toldPending = new Set<string>();

async function notify(p: GatewayPayment) {
  const body = JSON.stringify({ id: p.id, orderId: p.orderId, status: p.status });
  for (let attempt = 1; attempt <= 10; attempt++) {
    try {
      const res = await fetch(config.GATEWAY_WEBHOOK_URL, {
        method: "POST",
        headers: { "content-type": "application/json", "x-signature": signWebhook(config.WEBHOOK_SECRET, body) },
        body,
        signal: AbortSignal.timeout(defaults.WEBHOOK_POST_TIMEOUT_MS),
      });
      if (res.ok) return;
      log.warn("webhook refused", { status: res.status, paymentId: p.id, attempt });
    } catch (err) {
      log.warn("webhook failed", { err, paymentId: p.id, attempt });
    }
    await Bun.sleep(Math.min(200 * 2 ** attempt, 10_000));
  }
  log.error("webhook gave up", { paymentId: p.id });
}

function decide(p: GatewayPayment) {
  const declined = p.method === "card_declined" || Math.random() < config.PAYMENT_FAILURE_RATE;
  p.status = declined ? "declined" : "approved";
}

/** Decides the charge within the call, or answers it pending and decides it later by webhook. */
async function take(p: GatewayPayment): Promise<void> {
  if (p.method === "card_no_answer") return;
  if (Math.random() < config.GATEWAY_ASYNC_RATE) {
    setTimeout(() => {
      decide(p);
      void notify(p);
    }, config.GATEWAY_LATENCY_MS);
    return;
  }
  await Bun.sleep(config.GATEWAY_LATENCY_MS);
  decide(p);
  // a retry of this charge answered while it was being decided heard `pending`: it learns the rest by webhook
  if (toldPending.delete(p.id)) void notify(p);
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

const server = Bun.serve({
  port: config.GATEWAY_PORT,
  hostname: config.GATEWAY_HOST,
  routes: {
    "/payments": {
      POST: async (req) => {
        const key = req.headers.get("idempotency-key");
        const body = (await req.json().catch(() => null)) as Partial<GatewayPayment> | null;
        if (!key || !body?.orderId || !Number.isInteger(body.amount) || typeof body.method !== "string")
          return json({ error: "orderId, amount, method and Idempotency-Key are required" }, 400);
        const seen = byKey.get(key);
        if (seen?.status === "pending") toldPending.add(seen.id);
        if (seen) return json(seen);
        const p: GatewayPayment = {
          id: `pay_${Bun.randomUUIDv7()}`,
          orderId: body.orderId,
          amount: body.amount!,
          method: body.method,
          status: "pending",
          refunded: 0,
        };
        byId.set(p.id, p);
        byKey.set(key, p);
        await take(p);
        return json(p, 201);
      },
    },
    "/payments/:id": {
      GET: (req) => (byId.has(req.params.id) ? json(byId.get(req.params.id)) : json({ error: "not found" }, 404)),
    },
    "/payments/:id/refunds": {
      POST: async (req) => {
        const p = byId.get(req.params.id);
        const key = req.headers.get("idempotency-key");
        const { amount } = ((await req.json().catch(() => ({}))) ?? {}) as { amount?: number };
        if (!p) return json({ error: "not found" }, 404);
        if (!key || !Number.isInteger(amount) || amount! <= 0)
          return json({ error: "amount and Idempotency-Key are required" }, 400);
        if (!refundKeys.has(key)) {
          if (p.status !== "approved" || p.refunded + amount! > p.amount) return json({ error: "not refundable" }, 409);
          refundKeys.add(key);
          p.refunded += amount!;
        }
        return json(p);
      },
    },
    "/healthz": () => new Response("ok"),
  },
  fetch: () => json({ error: "not found" }, 404),
});

log.info("payment gateway simulator listening", { url: `http://${config.GATEWAY_HOST}:${server.port}` });
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    server.stop();
    process.exit(0);
  });
