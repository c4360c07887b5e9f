// What every route module receives: passed as arguments, no container.

import type { Db } from "../db";
import type { GatewayClient } from "../domain/payment";
import type { RedisClient } from "../domain/redis";
import type { Bus, Logger } from "../nats";
import type { Claims, TokenService } from "./auth/tokens";
import type { EdgeConfig } from "./config";
import type { Metrics } from "./metrics";
import type { OpsStats } from "./ops/stats";
import type { Decision } from "./rate-limit";

export type Deps = {
  config: EdgeConfig;
  db: Db;
  redis: RedisClient;
  bus: Bus;
  tokens: TokenService;
  metrics: Metrics;
  log: Logger;
  gateway: GatewayClient;
  /** Counts for the ops tick; absent where nobody publishes one. */
  stats?: OpsStats;
};

/** Hono's typed context: what middleware puts there for handlers. */
export type Env = {
  Variables: {
    requestId: string;
    traceparent: string;
    log: Logger;
    user?: Claims;
    /** The rate limiter's decision, sent back as RateLimit-* headers. */
    rate?: Decision;
    /** The client's address (see middleware/client-ip.ts); worked out when first asked, most requests never need it. */
    clientIp: () => string;
    /** When the request deadline answers 504 (ms since the epoch; Infinity without one). */
    deadlineAt: number;
    /**
     * Called right before a write commits: throws when the deadline has answered already, else holds the deadline
     * off until the request ends, so an answered error never leaves the write behind.
     */
    commit: () => void;
    /** The front layer's shortcut answered this request (its metrics name the shortcut's route). */
    shortcut?: boolean;
  };
};
