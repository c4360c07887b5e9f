// The edge's configuration, parsed once at start; nothing else reads process.env.
import { availableParallelism } from "node:os";
import { z } from "zod";
import { defaults } from "../domain/config";
import { DEV_WEBHOOK_SECRET, devSecretWarnings, refuseDevSecretInProduction } from "../domain/payment";
import { LOG_LEVELS } from "../nats";

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("127.0.0.1"),
  /** Share PORT with other edge processes (SO_REUSEPORT): set by `bun run edge`/`up` when they start several. */
  REUSE_PORT: z
    .enum(["0", "1"])
    .default("0")
    .transform((v) => v === "1"),
  DATABASE_URL: z.string().url().default(defaults.DATABASE_URL),
  REDIS_URL: z.string().default(defaults.REDIS_URL),
  /** Seeds of a Redis Cluster, "host:port,host:port": when set, every Redis use goes through the cluster (REDIS_URL unused). */
  REDIS_CLUSTER_NODES: z.string().optional(),
  /** One server or several (a cluster), comma-separated. */
  NATS_URL: z.string().default(defaults.NATS_URL),
  KEYS_DIR: z.string().default(".keys"),
  /** Production keys: a private Ed25519 JWK (with kid) that signs, and extra public JWKs (JSON array) that still verify. */
  JWT_PRIVATE_JWK: z.string().optional(),
  JWT_EXTRA_PUBLIC_JWKS: z.string().optional(),
  JWT_ISSUER: z.string().default("flashsale"),
  ACCESS_TOKEN_TTL_S: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60),
  REFRESH_TOKEN_TTL_S: z.coerce
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600),
  RATE_LIMIT_CAPACITY: z.coerce.number().int().positive().default(100),
  RATE_LIMIT_REFILL_PER_S: z.coerce.number().int().positive().default(10),
  LOGIN_LIMIT_PER_MIN: z.coerce.number().int().positive().default(10),
  TRUSTED_PROXIES: z.string().default(""),
  CORS_ORIGINS: z.string().default(""),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Password hashes running at once in this process (the rest wait in line); the cores by default. */
  HASH_CONCURRENCY: z.coerce.number().int().positive().default(availableParallelism()),
  /** A signup or login whose hash would not be done within this long of its arrival (or its deadline) is answered 503 BUSY. */
  HASH_MAX_WAIT_MS: z.coerce.number().int().positive().default(3_000),
  /** Shared by edge, payment actor and simulator; the default is public, refused when NODE_ENV=production. */
  WEBHOOK_SECRET: z.string().min(16).default(DEV_WEBHOOK_SECRET),
  NODE_ENV: z.string().default("development"),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  PAYMENT_GATEWAY_URL: z.string().url().default(defaults.PAYMENT_GATEWAY_URL),
  PAYMENT_GATEWAY_TIMEOUT_MS: z.coerce.number().int().positive().default(defaults.PAYMENT_GATEWAY_TIMEOUT_MS),
  /** Product reads cached in Redis this long at most; every catalog write makes older entries unreachable. */
  CATALOG_CACHE_TTL_S: z.coerce.number().int().positive().default(60),
  /** A coupon's Redis keys expire this long after it ends (the reconciler's window for unpublished claims). */
  COUPON_KEY_GRACE_S: z.coerce.number().int().positive().default(3600),
  /** Serve /metrics on its own listener at this port (and not on the public one), one per edge process; unset: admins only on the public port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().default("127.0.0.1"),
  /** Open order event streams (SSE) per user on this edge; one more is 429 RATE_LIMITED. */
  MAX_STREAMS_PER_USER: z.coerce.number().int().positive().default(10),
  /** Where people open the links of mails (verification, password reset): the edge serves those pages itself. */
  PUBLIC_URL: z.string().url().default("http://localhost:3000"),
  /** Orders, purchases and coupon claims answer 403 EMAIL_NOT_VERIFIED for an account whose email is not verified. */
  REQUIRE_VERIFIED_EMAIL: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
  /** Passkeys: the relying party's id (a domain) and the origin its pages are served from. */
  RP_ID: z.string().default("localhost"),
  RP_ORIGIN: z.string().url().default("http://localhost:3000"),
  RP_NAME: z.string().default("flashsale"),
  /** Password-reset mails asked per hour, per email and (separately) per client address. */
  RESET_LIMIT_PER_HOUR: z.coerce.number().int().positive().default(5),
  /** A forgotten-password request is answered this long after it arrived, whether the email is known or not. */
  FORGOT_ANSWER_MS: z.coerce.number().int().min(0).default(300),
  /** After Redis answers SOLD_OUT, this edge answers it alone for this long (or until units come back). */
  SOLD_OUT_FLAG_MS: z.coerce.number().int().min(0).default(1_000),
});

export type EdgeConfig = z.infer<typeof schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): EdgeConfig {
  const parsed = schema.superRefine(refuseDevSecretInProduction).safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid edge configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** What is unsafe but allowed outside production, for a loud line at start. */
export function warnings(config: EdgeConfig): string[] {
  return devSecretWarnings(config);
}
