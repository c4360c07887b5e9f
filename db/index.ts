export { createDb, type Db, type Tx } from "./client";
export { runMigrations } from "./migrate";
export * from "./schema";
