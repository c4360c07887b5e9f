// How every Lua script runs: EVALSHA, and EVAL once when Redis does not know the script yet (a restart, a
// flush, another server), after which EVALSHA finds it again.
import { createHash } from "node:crypto";
import type { RedisClient } from "./client";

export type Script = ((redis: RedisClient, keys: string[], args: (string | number)[]) => Promise<unknown>) & {
  sha: string;
};

export function luaScript(source: string): Script {
  const sha = createHash("sha1").update(source).digest("hex");
  const run = async (redis: RedisClient, keys: string[], args: (string | number)[]) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String(err).includes("NOSCRIPT")) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
  return Object.assign(run, { sha });
}
