// CPU per purchase stage, each measured alone in this process (user + system time over a few thousand calls, many in
// flight): what the edge's side of a token check, a bucket call, the gate's decision and the acked publish cost,
// beside the HTTP cost the spike measures on the servers themselves. Redis' and NATS' own CPU are not included.
import { jetstreamManager } from "@nats-io/jetstream";
import { createRedis } from "../../../domain/redis";
import { gate, saleKeys } from "../../../domain/sale";
import { limiter } from "../../../edge/rate-limit";
import { connectBus, publishEnvelope, uuidv7 } from "../../../nats";
import { signer } from "../../lib/accounts";
import { endlessSale } from "./limits";

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** CPU microseconds per call of `op` over `n` calls, `inFlight` at a time. */
async function per(n: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const before = cpuUs();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  return (cpuUs() - before) / n;
}

export async function stageCpu(env: Record<string, string>, n = 4000) {
  const redis = createRedis({ url: env.REDIS_URL!, clusterNodes: env.REDIS_CLUSTER_NODES }, { autoPipelining: true });
  const bus = await connectBus(env.NATS_URL!, "bench-stages");
  const jsm = await jetstreamManager(bus.nc);
  const stream = `STAGE_${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], duplicate_window: 120_000_000_000 });
  const saleId = uuidv7();
  try {
    const tokens = await signer(env);
    const fresh = await Promise.all(
      Array.from(
        { length: n },
        async () => (await tokens.sign({ sub: uuidv7(), role: "shopper", jti: uuidv7(), fam: uuidv7() })).token,
      ),
    );
    const token = await per(n, 64, (i) => tokens.verify(fresh[i]!));
    const bucket = limiter(redis, { name: `stage-${process.pid}`, capacity: 100, refillPerInterval: 10, intervalS: 1 });
    const limit = await per(n, 256, async (i) => bucket(`u:${i}`));
    const g = gate(redis);
    await g.load(saleId, endlessSale());
    const decide = await per(n, 256, (i) =>
      g.purchase({ saleId, userId: `u${i}`, qty: 1, orderId: uuidv7(), itemId: uuidv7() }),
    );
    const data = { note: "x".repeat(300) };
    const publish = await per(n, 256, () => {
      const id = uuidv7();
      return publishEnvelope(bus.js, {
        id,
        type: `${stream}.place`,
        occurredAt: new Date().toISOString(),
        orderId: id,
        data,
      } as never);
    });
    return { tokenCheckUs: token, bucketCallUs: limit, gateDecisionUs: decide, ackedPublishUs: publish };
  } finally {
    await jsm.streams.delete(stream);
    await redis.del(...saleKeys(saleId));
    await redis.eval(
      `for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`,
      0,
      `rl:stage-${process.pid}*`,
    );
    redis.disconnect();
    await bus.nc.close();
  }
}
