// A revocation reaches every edge: two token services (two edges) on their own NATS connections to a
// private NATS server, and a third that starts later and rebuilds the set from Postgres.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db, revokedTokens, runMigrations } from "../../db";
import { type Bus, connectBus } from "../../nats";
import { dropDatabase, ensureDatabase, ensureNats, type Started } from "../../scripts/lib/services";
import { keyRing, newPrivateJwk } from "./keys";
import { followRevocations, revokeEverywhere } from "./revocations";
import { type TokenService, tokenService } from "./tokens";

const freePort = () => {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
};

const url = `postgres://postgres@127.0.0.1:5432/flashsale_revoke_test_${process.pid}`;
const natsUrl = `nats://127.0.0.1:${freePort()}`;
let dir: string;
let nats: Started | undefined;
let db: Db;
const buses: Bus[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "revoke-test-"));
  nats = await ensureNats(natsUrl, dir);
  await ensureDatabase(url);
  await runMigrations(url);
  db = createDb(url, { max: 2 });
});

afterAll(async () => {
  for (const b of buses) await b.nc.close();
  await db?.$client.end();
  await dropDatabase(url);
  nats?.proc.kill("SIGTERM");
  await nats?.proc.exited;
  rmSync(dir, { recursive: true, force: true });
});

const ring = await keyRing(await newPrivateJwk());
async function edge() {
  const tokens = tokenService(ring, { issuer: "flashsale", ttlS: 900 });
  const bus = await connectBus(natsUrl, "revocation-test");
  buses.push(bus);
  await followRevocations(bus, db, tokens);
  return { tokens, bus };
}
const refused = (tokens: TokenService, token: string) =>
  tokens.verify(token).then(
    () => false,
    () => true,
  );

describe("revocation on every edge", () => {
  test("a logout on one edge is refused on the other within moments; a later edge loads it from Postgres", async () => {
    const a = await edge();
    const b = await edge();
    const jti = crypto.randomUUID();
    const { token, exp } = await a.tokens.sign({
      sub: crypto.randomUUID(),
      role: "shopper",
      jti,
      fam: crypto.randomUUID(),
    });
    expect(await refused(a.tokens, token)).toBe(false);
    expect(await refused(b.tokens, token)).toBe(false); // b has it cached now

    // what logout does: the durable row, then the broadcast
    await db.insert(revokedTokens).values({ jti, expiresAt: new Date(exp * 1000) });
    revokeEverywhere(a.bus, a.tokens, { jtis: [jti], exp });
    expect(await refused(a.tokens, token)).toBe(true);
    const until = Date.now() + 2_000;
    while (!(await refused(b.tokens, token)) && Date.now() < until) await Bun.sleep(5);
    expect(await refused(b.tokens, token)).toBe(true);

    const c = await edge();
    expect(await refused(c.tokens, token)).toBe(true);
    // and nothing else was swept up
    const other = await a.tokens.sign({
      sub: crypto.randomUUID(),
      role: "shopper",
      jti: crypto.randomUUID(),
      fam: crypto.randomUUID(),
    });
    expect(await refused(c.tokens, other.token)).toBe(false);
  });

  test("a malformed broadcast is ignored", async () => {
    const a = await edge();
    const b = await edge();
    const { token } = await a.tokens.sign({
      sub: crypto.randomUUID(),
      role: "shopper",
      jti: crypto.randomUUID(),
      fam: crypto.randomUUID(),
    });
    a.bus.nc.publish("auth.revoked", JSON.stringify({ jtis: ["not-a-uuid"], exp: "soon" }));
    await a.bus.nc.flush();
    await Bun.sleep(50);
    expect(await refused(b.tokens, token)).toBe(false);
  });
});
