// The order id's advisory lock: the order worker's flash-sale placements and the hold sweeper take it, so a late
// placement and the sweeper's giving up of its hold never both happen.
import { sql } from "drizzle-orm";
import type { Tx } from "../../db";

/** Takes these orders' locks for the rest of the transaction, in id order (two batches never deadlock). */
export async function lockOrders(tx: Tx, orderIds: string[]): Promise<void> {
  if (!orderIds.length) return;
  const values = sql.join(
    [...orderIds].sort().map((id) => sql`(${id})`),
    sql`, `,
  );
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(t.id)) from (values ${values}) as t(id) order by t.id`);
}
