// The database client factory: one postgres.js pool wrapped by drizzle, schema attached.
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export type Db = ReturnType<typeof createDb>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export function createDb(url: string, options: { max?: number } = {}) {
  const client = postgres(url, { max: options.max ?? 10, onnotice: () => {}, prepare: true });
  return Object.assign(drizzle(client, { schema }), { $client: client });
}
