import { integer, pgSchema, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, updatedAt } from "./columns";

export const payment = pgSchema("payment");
export const paymentStatus = payment.enum("payment_status", ["PENDING", "APPROVED", "DECLINED", "VOIDED"]);

/** One payment per order: the order id is the gateway's idempotency key, so a charge happens once. */
export const payments = payment.table("payments", {
  id: id(),
  orderId: uuid("order_id").notNull().unique(),
  amount: integer("amount").notNull(),
  method: text("method").notNull(),
  status: paymentStatus("status").notNull().default("PENDING"),
  gatewayPaymentId: text("gateway_payment_id"),
  refunded: integer("refunded").notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** One row per refund command; its key makes a repeated refund a no-op. */
export const refunds = payment.table("refunds", {
  key: text("key").primaryKey(),
  orderId: uuid("order_id").notNull(),
  amount: integer("amount").notNull(),
  createdAt: createdAt(),
});

export type Payment = typeof payments.$inferSelect;
