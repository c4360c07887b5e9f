// The catalog's Redis read cache. It holds what only catalog writes change (name, description, price,
// seller, times) and never stock: stock moves with every reservation and release the inventory actor makes,
// so it is read live from Postgres (one primary-key lookup) and joined to the cached fields on every read.
//
// Entries live under a generation: `{catalog}:gen` is bumped after every committed write, and readers only
// look at entries of the current generation. A reader that loaded the old row before the commit can still
// store it, but under the old generation, where nobody looks again; so once a write has returned, no read
// sees what it replaced. Old generations simply expire (the TTL).
import type { Redis } from "ioredis";
import { createHash } from "node:crypto";
import type { Logger } from "../../nats";
import { AppError } from "../errors";

const GEN = "{catalog}:gen";
const entry = (gen: string, name: string) => `{catalog}:${gen}:${name}`;
/** Redis answers within this or the read goes to Postgres alone. */
const READ_TIMEOUT_MS = 100;

// generation and entry in one round trip; the entry key shares the hash tag, so one slot on a cluster
const READ = `
local g = redis.call('GET', KEYS[1]) or '0'
return {g, redis.call('GET', '{catalog}:' .. g .. ':' .. ARGV[1])}
`;
const READ_SHA = createHash("sha1").update(READ).digest("hex");

export function catalogCache(redis: Redis, o: { ttlS: number; log: Logger }) {
  async function lookup(name: string): Promise<[string, string | null]> {
    try {
      return (await redis.evalsha(READ_SHA, 1, GEN, name)) as [string, string | null];
    } catch (err) {
      if (!String(err).includes("NOSCRIPT")) throw err;
      return (await redis.eval(READ, 1, GEN, name)) as [string, string | null];
    }
  }

  return {
    /** The cached value of `name`, or `load()` stored for the next reader. Without Redis, `load()` alone. */
    async read<T>(name: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
      let gen: string;
      try {
        const [g, hit] = await withTimeout(lookup(name), READ_TIMEOUT_MS);
        if (hit !== null) return JSON.parse(hit) as T;
        gen = g;
      } catch (err) {
        o.log.debug("catalog cache unavailable", { err });
        return load();
      }
      const value = await load();
      if (value !== undefined) redis.set(entry(gen, name), JSON.stringify(value), "EX", o.ttlS).catch(() => {});
      return value;
    },

    /** Called after a write commits: every entry cached before it becomes unreachable. */
    async invalidate(): Promise<void> {
      for (let attempt = 1; ; attempt++) {
        try {
          await redis.incr(GEN);
          return;
        } catch (err) {
          if (attempt === 3) {
            o.log.error("catalog cache not invalidated", { err });
            throw new AppError("UPSTREAM_UNAVAILABLE", `the change is saved, but reads may show the previous version for up to ${o.ttlS} s`);
          }
          await Bun.sleep(50 * attempt);
        }
      }
    },
  };
}
export type CatalogCache = ReturnType<typeof catalogCache>;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: Timer;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("catalog cache timeout")), ms))),
  ]).finally(() => clearTimeout(timer));
}
