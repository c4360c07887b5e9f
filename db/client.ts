// The database client factory: one postgres.js pool wrapped by drizzle, schema attached.
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export type Db = ReturnType<typeof createDb>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export function createDb(url: string, options: { max?: number } = {}) {
  const client = preparing(postgres(url, { max: options.max ?? 10, onnotice: () => {}, prepare: true }));
  return Object.assign(drizzle(client, { schema }), { $client: client });
}

/**
 * Statements with at most this many parameters are prepared once per connection. drizzle sends every statement
 * unprepared: Postgres parses and plans it each time, and the driver waits for its description before sending
 * its parameters (a round trip more). A statement's text varies with the length of a list spelled out in
 * parameters (`in ($1, $2, ...)`, multi-row `values`): past this many, it is left unprepared, so the prepared
 * statements of a connection stay few; the hot paths pass each column as one array parameter.
 */
const PREPARE_MAX_PARAMS = 16;

type Sql = postgres.Sql & { savepoint?: (...args: unknown[]) => Promise<unknown> };

/** `sql` (and the transactions and savepoints it opens) preparing the statements drizzle sends. */
function preparing<T extends Sql>(sql: T): T {
  const unsafe = sql.unsafe;
  sql.unsafe = ((query: string, args: postgres.ParameterOrJSON<never>[] = [], opts: postgres.UnsafeQueryOptions = {}) =>
    unsafe(
      query,
      args,
      args.length && args.length <= PREPARE_MAX_PARAMS ? { ...opts, prepare: true } : opts,
    )) as T["unsafe"];
  const scoped =
    (open: (...args: unknown[]) => Promise<unknown>) =>
    (...args: unknown[]) => {
      const fn = args.pop() as (tx: Sql) => unknown;
      return open(...args, (tx: Sql) => fn(preparing(tx)));
    };
  if (sql.begin) sql.begin = scoped(sql.begin as never) as T["begin"];
  if (sql.savepoint) sql.savepoint = scoped(sql.savepoint);
  return sql;
}
