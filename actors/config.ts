// Configuration of every actor process kind, parsed once at start; fails fast with a readable message.
import { z } from "zod";
import { defaults } from "../domain/config";
import { DEV_WEBHOOK_SECRET, devSecretWarnings, refuseDevSecretInProduction } from "../domain/payment";
import { MIN_HOLD_GRACE_MS } from "../domain/sale";
import { LOG_LEVELS } from "../nats";

const schema = z.object({
  DATABASE_URL: z.string().url().default(defaults.DATABASE_URL),
  /** One server or several (a cluster), comma-separated. */
  NATS_URL: z.string().default(defaults.NATS_URL),
  /** For the actor kinds that keep state in Redis. */
  REDIS_URL: z.string().default(defaults.REDIS_URL),
  /** Seeds of a Redis Cluster, "host:port,host:port": when set, every Redis use goes through the cluster (REDIS_URL unused). */
  REDIS_CLUSTER_NODES: z.string().optional(),
  /** A granted claim still unpublished after this long is republished (same message id) by the coupon actor. */
  CLAIM_REPUBLISH_AFTER_MS: z.coerce.number().int().positive().default(3_000),
  /**
   * A flash-sale hold whose order is not in Postgres after this long is given up (the edge died before publishing).
   * At least the gate's placement window and a margin, so no placement JetStream acked is given up.
   */
  HOLD_GRACE_MS: z.coerce
    .number()
    .int()
    .min(MIN_HOLD_GRACE_MS, `at least ${MIN_HOLD_GRACE_MS} (the placement window and a margin)`)
    .default(30_000),
  /** The popularity ranking is rebuilt from Postgres this often, so likes and sales past the 7-day window leave it. */
  POPULARITY_SWEEP_MS: z.coerce.number().int().positive().default(60_000),
  /** The products that events touched are recomputed together this often. */
  POPULARITY_FLUSH_MS: z.coerce.number().int().positive().default(1_000),
  /** How often the gate actor checks each live sale's gate against Postgres (and repairs one a failover left behind). */
  GATE_CHECK_EVERY_MS: z.coerce.number().int().positive().default(2_000),
  BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(256),
  PAYMENT_DEADLINE_MS: z.coerce.number().int().positive().default(30_000),
  PAYMENT_GATEWAY_URL: z.string().url().default(defaults.PAYMENT_GATEWAY_URL),
  PAYMENT_GATEWAY_TIMEOUT_MS: z.coerce.number().int().positive().default(defaults.PAYMENT_GATEWAY_TIMEOUT_MS),
  /** Shared by edge, payment actor and simulator; the default is public, refused when NODE_ENV=production. */
  WEBHOOK_SECRET: z.string().min(16).default(DEV_WEBHOOK_SECRET),
  NODE_ENV: z.string().default("development"),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  // payment-gateway simulator
  GATEWAY_PORT: z.coerce.number().int().default(4010),
  GATEWAY_HOST: z.string().default("127.0.0.1"),
  GATEWAY_WEBHOOK_URL: z.string().url().default("http://127.0.0.1:3000/v1/payments/webhook"),
  GATEWAY_LATENCY_MS: z.coerce.number().int().min(0).default(20),
  /** Share of charges the simulator answers `pending` and decides later, by webhook (as 3-D Secure would). */
  GATEWAY_ASYNC_RATE: z.coerce.number().min(0).max(1).default(0),
  PAYMENT_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  NOTIFY_WEBHOOK_URL: z.string().url().optional(),
  /** Delivery attempts of one notification within one message delivery, before it is retried by redelivery. */
  NOTIFY_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
  NOTIFY_BACKOFF_MS: z.coerce.number().int().min(1).default(200),
  /** The SMTP server the mailer sends through (the notification actor runs the mailer); `bun run up` starts MailDev here when unset. */
  MAIL_URL: z.string().url().default("smtp://127.0.0.1:1025"),
  MAIL_FROM: z.string().default("flashsale <no-reply@flashsale.localhost>"),
  /** The mail outbox is read this often when it has nothing due. */
  MAIL_POLL_MS: z.coerce.number().int().positive().default(500),
  /** A mail that could not be sent is tried again after MAIL_BACKOFF_MS, doubling up to MAIL_BACKOFF_MAX_MS (with jitter). */
  MAIL_BACKOFF_MS: z.coerce.number().int().positive().default(1_000),
  MAIL_BACKOFF_MAX_MS: z.coerce.number().int().positive().default(30_000),
  /** A shipped order counts as delivered this long after shipping; 0 (the default) leaves it to the seller. */
  AUTO_DELIVER_AFTER_MS: z.coerce.number().int().min(0).default(0),
  /**
   * Chaos hook, off by default: `order:2,payment:1` makes a process of that kind SIGKILL itself right after
   * committing its n-th batch, before publishing and acking. With CHAOS_STATE_DIR each kind crashes once.
   */
  CHAOS_CRASH_AFTER_COMMIT: z
    .string()
    .regex(/^\w+:\d+(,\w+:\d+)*$/, "kind:n[,kind:n...]")
    .optional()
    .transform((v) => new Map((v ? v.split(",") : []).map((p) => [p.split(":")[0]!, Number(p.split(":")[1])]))),
  CHAOS_STATE_DIR: z.string().optional(),
});

export type ActorConfig = z.infer<typeof schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): ActorConfig {
  const parsed = schema.superRefine(refuseDevSecretInProduction).safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** What is unsafe but allowed outside production, for a loud line at start. */
export function warnings(config: ActorConfig): string[] {
  return devSecretWarnings(config);
}
