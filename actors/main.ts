// Starts one actor process kind: `bun actors/main.ts <order|inventory|payment|notification|gateway>`.
// Run more copies of a kind to scale it out: they share its durable consumers.
import { createDb } from "../db";
import { connectBus, consumers, logger, type ConsumerKind } from "../nats";
import { loadConfig } from "./config";
import { startRelay } from "../nats";
import { startWorker, type BatchHandler } from "./lib/worker";
import { notificationHandler } from "./notification/worker";
import { inventoryHandler } from "./inventory/worker";
import { orderHandler, startDeadlineSweeper } from "./order/worker";
import { gatewayClient } from "./payment";
import { paymentHandler } from "./payment/worker";
import { startClaimReconciler } from "./coupon/reconciler";
import { couponHandler } from "./coupon/worker";

const kind = process.argv[2];
if (kind === "gateway") {
  await import("./gateway/main");
} else {
  if (!kind || !Object.hasOwn(consumers, kind)) {
    console.error(`usage: bun actors/main.ts <${[...Object.keys(consumers), "gateway"].join("|")}>`);
    process.exit(2);
  }
  await run(kind as ConsumerKind);
}

async function run(kind: ConsumerKind) {
  const config = loadConfig();
  const log = logger({ proc: kind, pid: process.pid });
  const db = createDb(config.DATABASE_URL, { max: 8 });
  const bus = await connectBus(config.NATS_URL, `actor-${kind}`);

  const handlers: Record<ConsumerKind, () => BatchHandler> = {
    coupon: () => couponHandler,
    order: () => orderHandler({ paymentDeadlineMs: config.PAYMENT_DEADLINE_MS, log }),
    inventory: () => inventoryHandler,
    payment: () => paymentHandler(gatewayClient(config.PAYMENT_GATEWAY_URL, config.PAYMENT_GATEWAY_TIMEOUT_MS)),
    notification: () => notificationHandler({ webhookUrl: config.NOTIFY_WEBHOOK_URL, timeoutMs: 5_000, log }),
  };
  const handle = handlers[kind]();
  const stops: (() => Promise<void>)[] = [];
  for (const spec of consumers[kind])
    stops.push(await startWorker({ db, js: bus.js, spec, handle, log, batchSize: config.BATCH_SIZE }));
  stops.push(startRelay(db, bus.js, log));
  if (kind === "order") stops.push(startDeadlineSweeper(db, bus.js, log));
  if (kind === "coupon")
    stops.push(startClaimReconciler({ db, redisUrl: config.REDIS_URL, js: bus.js, log, afterMs: config.CLAIM_REPUBLISH_AFTER_MS }));
  log.info("actor started", { consumers: consumers[kind].map((c) => `${c.stream}/${c.durable}`) });

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log.info("stopping: finishing in-flight messages");
    await Promise.all(stops.map((s) => s()));
    await bus.nc.drain();
    await db.$client.end({ timeout: 5 });
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}
