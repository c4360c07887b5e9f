// Defaults every process shares: where the services are, and the timeouts more than one process uses. Each
// process's own config module (edge/config.ts, actors/config.ts) parses the environment over these.

/** The local services, as `bun run up` and the tests' machine run them. */
export const DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flashsale";
export const REDIS_URL = "redis://127.0.0.1:6379";
export const NATS_URL = "nats://127.0.0.1:4222";
export const PAYMENT_GATEWAY_URL = "http://127.0.0.1:4010";

/**
 * One call to the payment gateway, for the edge (re-reading a payment a webhook names) and the payment actor
 * (charge, refund): past this it counts as the gateway's fault for the breaker. The simulator answers in
 * milliseconds; 3 s keeps the webhook's answer well inside the edge's request deadline and a payment batch's
 * transaction short, and a charge or refund cut short is retried under the same idempotency key.
 */
export const PAYMENT_GATEWAY_TIMEOUT_MS = 3_000;

/** One webhook post: the notification actor's, and the payment-gateway simulator's note to the edge. */
export const WEBHOOK_POST_TIMEOUT_MS = 5_000;

/** A circuit breaker opens after this many consecutive faults, for this long. */
export const BREAKER_FAILURES = 5;
export const BREAKER_OPEN_MS = 5_000;
