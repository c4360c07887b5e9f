// Revoked access tokens reach every edge without a Redis round trip per request: each edge keeps a local
// set, fed by a core NATS broadcast and rebuilt from Postgres at start.
import { gt } from "drizzle-orm";
import { type Db, revokedTokens } from "../../db";
import { type Bus, TOKEN_REVOKED, type TokenRevoked, tokenRevoked } from "../../nats";
import type { TokenService } from "./tokens";

/** Revokes here at once and tells every other edge. The durable row is the caller's (same transaction). */
export function revokeEverywhere(bus: Bus, tokens: Pick<TokenService, "revoke">, msg: TokenRevoked) {
  tokens.revoke(msg.jtis, msg.exp);
  bus.nc.publish(TOKEN_REVOKED, JSON.stringify(msg));
}

/**
 * Listens for other edges' revocations, then loads the durable ones; subscribing first means none falls
 * in between. Returns the subscription and how many were loaded.
 */
export async function followRevocations(bus: Bus, db: Db, tokens: Pick<TokenService, "revoke">) {
  const sub = bus.nc.subscribe(TOKEN_REVOKED, {
    callback: (err, msg) => {
      if (err) return;
      const r = tokenRevoked.safeParse(msg.json());
      if (r.success) tokens.revoke(r.data.jtis, r.data.exp);
    },
  });
  await bus.nc.flush();
  const rows = await db.select().from(revokedTokens).where(gt(revokedTokens.expiresAt, new Date()));
  for (const r of rows) tokens.revoke([r.jti], Math.floor(r.expiresAt.getTime() / 1000));
  return { sub, loaded: rows.length };
}
