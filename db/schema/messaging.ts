// Inbox and outbox: the two tables that turn at-least-once delivery into effects that happen once.
import { sql } from "drizzle-orm";
import { index, integer, json, jsonb, pgSchema, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { at, createdAt } from "./columns";

export const messaging = pgSchema("messaging");

/** One outgoing message as an inbox row keeps it: its envelope (whose id is its Nats-Msg-Id) and headers. */
export type RecordedOutput = { envelope: { id: string; type: string }; headers: Record<string, string> };

export const inbox = messaging.table(
  "inbox",
  {
    consumer: text("consumer").notNull(),
    messageId: text("message_id").notNull(),
    /**
     * What handling the message caused: the outgoing messages, with their ids, committed with it. A redelivery of
     * a message seen before publishes these again (its first publish failed, or its process died before the ack).
     */
    outputs: json("outputs").$type<RecordedOutput[]>(),
    createdAt: createdAt(),
  },
  // BRIN: rows come in time order, so a range of recent ones costs next to nothing to keep findable
  (t) => [primaryKey({ columns: [t.consumer, t.messageId] }), index("inbox_created_brin").using("brin", t.createdAt)],
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

/**
 * The mail outbox: a mail is written in the transaction that asks for it and sent by the mailer (actors/mailer)
 * with retries and backoff. Its bodies hold a one-time link, so they are cleared once the mail is sent or given up.
 */
export const mails = messaging.table(
  "mails",
  {
    id: uuid("id").primaryKey(),
    to: text("to").notNull(),
    /** What the mail is for (a template's name), for logs and tests. */
    kind: text("kind").notNull(),
    subject: text("subject").notNull(),
    text: text("text"),
    html: text("html"),
    /** Not sent after this (its link has expired by then): given up. */
    expiresAt: at("expires_at").notNull(),
    /** When the next attempt is due; an attempt in progress holds the row by moving this past its timeout. */
    nextAttemptAt: at("next_attempt_at").notNull().defaultNow(),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    sentAt: at("sent_at"),
    failedAt: at("failed_at"),
    createdAt: createdAt(),
  },
  (t) => [index("mails_due_idx").on(t.nextAttemptAt).where(sql`sent_at is null and failed_at is null`)],
);
export type Mail = typeof mails.$inferSelect;
