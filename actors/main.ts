// Starts one actor process kind: `bun actors/main.ts <kind>` (see `consumers` in nats/streams.ts, or `gateway`).
// Run more copies of a kind to scale it out: they share its durable consumers.
import { existsSync, writeFileSync } from "node:fs";
import { jetstreamManager } from "@nats-io/jetstream";
import nodemailer from "nodemailer";
import { createDb } from "../db";
import { defaults } from "../domain/config";
import { type Breaker, breaker, gatewayClient } from "../domain/payment";
import { createRedis } from "../domain/redis";
import { gate } from "../domain/sale";
import {
  type ConsumerKind,
  connectBus,
  consumers,
  type Logger,
  logger,
  type OrderStatusChanged,
  orderStatusSubject,
  startOpsTick,
  startRelay,
} from "../nats";
import { type ActorConfig, loadConfig, warnings } from "./config";
import { startClaimReconciler } from "./coupon/reconciler";
import { couponHandler } from "./coupon/worker";
import { startGateRepair } from "./gate/repair";
import { startHoldSweeper } from "./gate/sweeper";
import { gateHandler } from "./gate/worker";
import { inventoryHandler } from "./inventory/worker";
import { type BatchHandler, republishRecent, startDeadLetterMover, startWorker } from "./lib/worker";
import { SEND_CONCURRENCY, SMTP_TIMEOUT_MS, startMailer } from "./mailer";
import { notificationHandler } from "./notification/worker";
import { orderHandler, startDeadlineSweeper } from "./order/worker";
import { paymentHandler } from "./payment/worker";
import { popularityHandler, startPopularity } from "./popularity/worker";

const kind = process.argv[2];
/** How often the gate process looks for holds whose order never reached Postgres. */
const HOLD_SWEEP_EVERY_MS = 2_000;
/**
 * Kinds whose handling is idempotent by itself and causes no messages, so they keep no inbox rows: a
 * notification is recorded (and posted) once under its message's id, a popularity mark is a mark however often
 * made, the gate takes back a hold's units once per hold.
 */
const withoutInbox = new Set<ConsumerKind>(["notification", "popularity", "gate"]);
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
  const log = logger({ proc: kind, pid: process.pid }, config.LOG_LEVEL);
  if (kind === "payment") for (const w of warnings(config)) log.warn(w);
  // one connection per consumer, one for the relay, one for sweepers (and the mailer)
  const db = createDb(config.DATABASE_URL, { max: consumers[kind].length + 3 });
  const bus = await connectBus(config.NATS_URL, `actor-${kind}`);
  const jsm = await jetstreamManager(bus.nc);

  // the breakers of this process, told to the ops consoles every second
  const breakers: Breaker[] = [];
  const handlers: Record<ConsumerKind, () => BatchHandler> = {
    coupon: () => couponHandler,
    order: () =>
      orderHandler({
        paymentDeadlineMs: config.PAYMENT_DEADLINE_MS,
        autoDeliverAfterMs: config.AUTO_DELIVER_AFTER_MS,
        log,
        onStatus: (changes) => {
          for (const c of changes)
            bus.nc.publish(orderStatusSubject(c.orderId), JSON.stringify(c satisfies OrderStatusChanged));
        },
      }),
    inventory: () => inventoryHandler,
    payment: () => {
      const client = gatewayClient(config.PAYMENT_GATEWAY_URL, config.PAYMENT_GATEWAY_TIMEOUT_MS);
      breakers.push(client.breaker);
      return paymentHandler(client);
    },
    notification: () => {
      const b = breaker("notify_webhook", { timeoutMs: defaults.WEBHOOK_POST_TIMEOUT_MS });
      breakers.push(b);
      return notificationHandler({
        db,
        webhookUrl: config.NOTIFY_WEBHOOK_URL,
        timeoutMs: defaults.WEBHOOK_POST_TIMEOUT_MS,
        attempts: config.NOTIFY_ATTEMPTS,
        backoffMs: config.NOTIFY_BACKOFF_MS,
        log,
        breaker: b,
      });
    },
    gate: () => {
      const redis = createRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES });
      redis.on("error", (err) => log.warn("redis", { err: err.message }));
      const g = gate(redis);
      stops.push(
        startHoldSweeper({
          db,
          gate: g,
          jsm,
          nc: bus.nc,
          log,
          graceMs: config.HOLD_GRACE_MS,
          everyMs: HOLD_SWEEP_EVERY_MS,
        }),
      );
      stops.push(startGateRepair({ db, gate: g, jsm, nc: bus.nc, log, everyMs: config.GATE_CHECK_EVERY_MS }));
      stops.push(async () => redis.disconnect());
      return gateHandler(g, bus.nc);
    },
    popularity: () => {
      const redis = createRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES });
      redis.on("error", (err) => log.warn("redis", { err: err.message }));
      const marks = new Set<string>();
      stops.push(
        startPopularity({
          db,
          redis,
          log,
          marks,
          flushMs: config.POPULARITY_FLUSH_MS,
          sweepMs: config.POPULARITY_SWEEP_MS,
        }),
      );
      stops.push(async () => redis.disconnect());
      return popularityHandler(marks);
    },
  };
  const stops: (() => Promise<void>)[] = [];
  const handle = handlers[kind]();
  // one loop per consumer: the order saga's four streams each have their own, so a burst of placements does not
  // queue the replies of orders already under way, and their transactions overlap (one shared loop was measured
  // cheaper per order but slower: bench:saga, README)
  const onCommitted = chaos(kind, config, log);
  for (const spec of consumers[kind])
    stops.push(
      await startWorker({
        db,
        js: bus.js,
        spec,
        handle,
        log,
        batchSize: config.BATCH_SIZE,
        onCommitted,
        inbox: !withoutInbox.has(kind),
      }),
    );
  // what a process of this kind committed and may have died before publishing goes out again now
  void republishRecent(db, bus.js, [...new Set(consumers[kind].map((c) => c.durable))], log).catch((err) =>
    log.warn("republishing what was recorded before this start failed: left to redelivery", { err }),
  );
  stops.push(startRelay(db, bus.js, log));
  stops.push(startDeadLetterMover(bus.nc, bus.js, consumers[kind], log));
  if (kind === "order") stops.push(startDeadlineSweeper(db, bus.js, log));
  if (kind === "notification") {
    const timeouts = {
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    };
    const transport = nodemailer.createTransport({
      url: config.MAIL_URL,
      pool: true,
      maxConnections: SEND_CONCURRENCY,
      ...timeouts,
    } as never);
    const mailLog = log.child({ part: "mailer" });
    const stopMailer = startMailer({
      db,
      transport,
      from: config.MAIL_FROM,
      log: mailLog,
      pollMs: config.MAIL_POLL_MS,
      backoff: { baseMs: config.MAIL_BACKOFF_MS, maxMs: config.MAIL_BACKOFF_MAX_MS },
    });
    stops.push(async () => {
      await stopMailer();
      transport.close();
    });
  }
  if (kind === "coupon")
    stops.push(
      startClaimReconciler({
        db,
        redis: { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES },
        js: bus.js,
        log,
        afterMs: config.CLAIM_REPUBLISH_AFTER_MS,
      }),
    );
  if (breakers.length) {
    const stopTick = startOpsTick(bus.nc, kind, () => ({
      breakers: breakers.map((b) => ({ name: b.name, state: b.state() })),
    }));
    stops.push(async () => stopTick());
  }
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

/** The chaos hook (CHAOS_CRASH_AFTER_COMMIT): SIGKILL right after the n-th committed batch of this process. */
function chaos(kind: string, config: ActorConfig, log: Logger): (() => void) | undefined {
  const n = config.CHAOS_CRASH_AFTER_COMMIT.get(kind);
  if (!n) return undefined;
  const marker = config.CHAOS_STATE_DIR && `${config.CHAOS_STATE_DIR}/crashed-${kind}`;
  let commits = 0;
  return () => {
    if (++commits !== n || (marker && existsSync(marker))) return;
    if (marker) writeFileSync(marker, String(process.pid));
    log.warn("chaos: killing this process between commit and ack", { commits });
    process.kill(process.pid, "SIGKILL");
  };
}
