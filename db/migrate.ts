// Applies the committed SQL migrations; safe to run at every start and from several processes at once.
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { defaults } from "../domain/config";

export const migrationsFolder = new URL("./migrations", import.meta.url).pathname;

export async function runMigrations(url: string) {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(727001)`;
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client`select pg_advisory_unlock(727001)`.catch(() => {});
    await client.end();
  }
}

if (import.meta.main) {
  await runMigrations(process.env.DATABASE_URL ?? defaults.DATABASE_URL);
}
