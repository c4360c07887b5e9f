// Inbox and outbox: the two tables that turn at-least-once delivery into effects that happen once.
import { sql } from "drizzle-orm";
import { index, jsonb, pgSchema, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { at, createdAt } from "./columns";

export const messaging = pgSchema("messaging");

export const inbox = messaging.table(
  "inbox",
  {
    consumer: text("consumer").notNull(),
    messageId: text("message_id").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.consumer, t.messageId] })],
);

export const outbox = messaging.table(
  "outbox",
  {
    id: uuid("id").primaryKey(),
    subject: text("subject").notNull(),
    envelope: jsonb("envelope").notNull(),
    headers: jsonb("headers").$type<Record<string, string>>().notNull(),
    createdAt: createdAt(),
    sentAt: at("sent_at"),
  },
  (t) => [index("outbox_unsent_idx").on(t.createdAt).where(sql`sent_at is null`)],
);

/** Every notification sent (or attempted) for an order event. */
export const notifications = messaging.table("notifications", {
  id: text("id").primaryKey(),
  orderId: uuid("order_id").notNull(),
  kind: text("kind").notNull(),
  text: text("text").notNull(),
  delivered: text("delivered", { enum: ["webhook", "log"] }).notNull(),
  createdAt: createdAt(),
});
