import { bigint, boolean, customType, index, pgSchema, text, uuid } from "drizzle-orm/pg-core";
import { at, createdAt, id, updatedAt } from "./columns";

export const identity = pgSchema("identity");
export const roleEnum = identity.enum("role", ["shopper", "seller", "admin"]);

export const users = identity.table(
  "users",
  {
    id: id(),
    email: text("email").notNull().unique(),
    passwordHash: text("password_hash").notNull(),
    name: text("name").notNull(),
    role: roleEnum("role").notNull().default("shopper"),
    /** When the owner proved the address (a verification or password-reset link); null until then. */
    emailVerifiedAt: at("email_verified_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  // the admin search matches email prefixes (LIKE 'x%'), which a plain btree under a non-C collation cannot serve
  (t) => [index("users_email_prefix_idx").using("btree", t.email.op("text_pattern_ops"))],
);

/** One row per refresh token; a family is the chain of rotations that started at one login. */
export const refreshTokens = identity.table(
  "refresh_tokens",
  {
    /** SHA-256 of the token; the token itself is never stored. */
    tokenHash: text("token_hash").primaryKey(),
    familyId: uuid("family_id").notNull(),
    /** The access token issued with this refresh token, revoked with its family. */
    accessJti: uuid("access_jti").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
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

export const emailTokenPurpose = identity.enum("email_token_purpose", ["verify_email", "reset_password"]);

/** One-time tokens mailed to a user (email verification, password reset); only their SHA-256 is kept. */
export const emailTokens = identity.table(
  "email_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    purpose: emailTokenPurpose("purpose").notNull(),
    expiresAt: at("expires_at").notNull(),
    usedAt: at("used_at"),
    createdAt: createdAt(),
  },
  (t) => [index("email_tokens_user_idx").on(t.userId, t.purpose)],
);

const bytes = customType<{ data: Uint8Array<ArrayBuffer>; driverData: Buffer }>({
  dataType: () => "bytea",
  toDriver: (v) => Buffer.from(v),
  fromDriver: (v) => new Uint8Array(v),
});

/** WebAuthn credentials (passkeys): the public key and the last signature counter seen. */
export const passkeys = identity.table(
  "passkeys",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    /** The authenticator's credential id, base64url. */
    credentialId: text("credential_id").notNull().unique(),
    publicKey: bytes("public_key").notNull(),
    counter: bigint("counter", { mode: "number" }).notNull().default(0),
    transports: text("transports").array().notNull().default([]),
    /** Whether the credential is synced between devices (backup eligible), as the authenticator says. */
    deviceType: text("device_type", { enum: ["singleDevice", "multiDevice"] }).notNull(),
    backedUp: boolean("backed_up").notNull(),
    lastUsedAt: at("last_used_at"),
    createdAt: createdAt(),
  },
  (t) => [index("passkeys_user_idx").on(t.userId)],
);

export type User = typeof users.$inferSelect;
export type Passkey = typeof passkeys.$inferSelect;
export type Role = User["role"];
