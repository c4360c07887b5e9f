import { index, pgSchema, text, uuid } from "drizzle-orm/pg-core";
import { at, createdAt, id, updatedAt } from "./columns";

export const identity = pgSchema("identity");
export const roleEnum = identity.enum("role", ["shopper", "seller", "admin"]);

export const users = identity.table("users", {
  id: id(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  name: text("name").notNull(),
  role: roleEnum("role").notNull().default("shopper"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** One row per refresh token; a family is the chain of rotations that started at one login. */
export const refreshTokens = identity.table(
  "refresh_tokens",
  {
    /** SHA-256 of the token; the token itself is never stored. */
    tokenHash: text("token_hash").primaryKey(),
    familyId: uuid("family_id").notNull(),
    /** The access token issued with this refresh token, revoked with its family. */
    accessJti: uuid("access_jti").notNull(),
    userId: uuid("user_id").notNull().references(() => users.id),
    expiresAt: at("expires_at").notNull(),
    rotatedAt: at("rotated_at"),
    revokedAt: at("revoked_at"),
    createdAt: createdAt(),
  },
  (t) => [index("refresh_tokens_family_idx").on(t.familyId)],
);

/** Access tokens killed before their expiry (logout, reuse); edges load the live ones at start. */
export const revokedTokens = identity.table("revoked_tokens", {
  jti: uuid("jti").primaryKey(),
  expiresAt: at("expires_at").notNull(),
});

export type User = typeof users.$inferSelect;
export type Role = User["role"];
