// The catalog's Redis read cache. It holds what only catalog writes change (name, description, price,
// seller, times) and never stock: stock moves with every reservation and release the inventory actor makes,
// so it is read live from Postgres (one primary-key lookup) and joined to the cached fields on every read.
//
// Each entry is stored with the generation it was read under, `{catalog}:gen`, which is bumped after every
// committed write; readers take an entry only when its generation is the current one, and an entry is only
// written while the generation it was read under is still current (one Lua script, so atomically). A reader
// that loaded the old row before the commit either stores it before the bump (and nobody takes it after) or
// not at all; so once a write has returned, no read sees what it replaced.
//
// Its size is bounded by what the server holds, never by what clients ask: one key per name, and callers
// cache only names they produced themselves (a live product, the first page); an entry is overwritten,
// not multiplied, by later generations. Redis runs with `maxmemory` and `noeviction` (see README): a write
// refused because Redis is full is only a missed cache write, and the read is answered from Postgres.
import { luaScript, type RedisClient } from "../../domain/redis";
import type { Logger } from "../../nats";
import { AppError } from "../errors";

const GEN = "{catalog}:gen";
/** Every key shares the `{catalog}` hash tag: one slot on a cluster, so the scripts may touch them together. */
const entry = (name: string) => `{catalog}:${name}`;
/** Redis answers within this or the read goes to Postgres alone. */
const READ_TIMEOUT_MS = 100;

// the current generation, and the entry's value only when it was stored under that generation
const READ = `
local g = redis.call('GET', KEYS[1]) or '0'
local v = redis.call('GET', KEYS[2])
if v and string.sub(v, 1, #g + 1) == g .. ':' then return {g, string.sub(v, #g + 2)} end
return {g, false}
`;
// stored only while the generation it was read under is still the current one
const WRITE = `
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
`;
const scripts = { read: luaScript(READ), write: luaScript(WRITE) };

export function catalogCache(redis: RedisClient, o: { ttlS: number; log: Logger }) {
  async function run(script: keyof typeof scripts, name: string, ...args: string[]): Promise<unknown> {
    return scripts[script](redis, [GEN, entry(name)], args);
  }

  return {
    /**
     * The cached value of `name`, or `load()` stored for the next reader. Without Redis, `load()` alone.
     * `name` must be one the server produced (a product that exists, the first page), never one a client
     * made up: each name is a key.
     */
    async read<T>(name: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
      let gen: string;
      try {
        const [g, hit] = (await withTimeout(run("read", name), READ_TIMEOUT_MS)) as [string, string | null];
        if (hit !== null) return JSON.parse(hit) as T;
        gen = g;
      } catch (err) {
        o.log.debug("catalog cache unavailable", { err });
        return load();
      }
      const value = await load();
      // not awaited, and a failure (Redis full, gone) only costs the next reader a trip to Postgres
      if (value !== undefined) run("write", name, gen, JSON.stringify(value), String(o.ttlS)).catch(() => {});
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
            throw new AppError(
              "UPSTREAM_UNAVAILABLE",
              `the change is saved, but reads may show the previous version for up to ${o.ttlS} s`,
            );
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
