// Lets @upstash/ratelimit run on plain Redis through ioredis. Its scripts start with
// `#!lua flags=allow-key-locking`, which plain Redis refuses: that line is stripped, and the library's
// script hashes are mapped to the hashes of the stripped scripts.
import { createHash } from "node:crypto";
import { luaScript, type RedisClient, type Script } from "../../domain/redis";

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");
const strip = (script: string) => script.replace(/^#!lua[^\n]*\n/, "");

export function upstashAdapter(redis: RedisClient) {
  const byLibraryHash = new Map<string, Script>();
  const remember = (script: string) => {
    const entry = luaScript(strip(script));
    byLibraryHash.set(sha1(script), entry);
    return entry;
  };
  const run = (entry: Script, keys: string[], args: unknown[]) => entry(redis, keys, args as string[]);
  return {
    evalsha: async (hash: string, keys: string[], args: unknown[]) => {
      const entry = byLibraryHash.get(hash);
      // unknown to us yet: answer as Redis would, so the library sends the script itself
      if (!entry) throw new Error("NOSCRIPT No matching script");
      return run(entry, keys, args);
    },
    eval: async (script: string, keys: string[], args: unknown[]) => run(remember(script), keys, args),
  };
}
