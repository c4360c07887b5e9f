export * from "./schema";
export { createDb, type Db, type Tx } from "./client";
export { runMigrations } from "./migrate";
