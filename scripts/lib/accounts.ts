// Accounts for whole-stack tests and benches that need many users, or more than the login throttle lets one address
// sign in per minute: rows written straight into the test database, with access tokens signed by the
// running edge's own development key, as login signs them (same issuer, claims and lifetime).
import { eq } from "drizzle-orm";
import { createDb, type Role, users } from "../../db";
import { devKeyRing } from "../../edge/auth/keys";
import { hashPassword } from "../../edge/auth/passwords";
import { tokenService } from "../../edge/auth/tokens";
import { uuidv7 } from "../../nats";
import { admin } from "./private-stack";

export type Account = { id: string; token: string };

/** A token service with the running edge's development key: signs as login does, and verifies. */
export async function signer(env: Record<string, string>) {
  return tokenService(await devKeyRing(env.KEYS_DIR!), { issuer: "flashsale", ttlS: 3600 });
}

export async function accounts(
  env: Record<string, string>,
  role: Exclude<Role, "admin">,
  n: number,
): Promise<Account[]> {
  const db = createDb(env.DATABASE_URL!, { max: 2 });
  const tokens = await signer(env);
  // nobody logs in with these: one hash for all keeps the rows honest without n argon2 runs
  const passwordHash = await hashPassword(crypto.randomUUID());
  const rows = Array.from({ length: n }, () => {
    const id = uuidv7();
    return {
      id,
      email: `${role}-${id}@test.dev`,
      name: `test ${role}`,
      role,
      passwordHash,
      emailVerifiedAt: new Date(),
    };
  });
  try {
    for (let i = 0; i < rows.length; i += 1000) await db.insert(users).values(rows.slice(i, i + 1000));
  } finally {
    await db.$client.end();
  }
  return Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      token: (await tokens.sign({ sub: r.id, role, jti: uuidv7(), fam: uuidv7() })).token,
    })),
  );
}

/** The stack's seeded admin, with a token of its own. */
export async function adminAccount(env: Record<string, string>): Promise<Account> {
  const db = createDb(env.DATABASE_URL!, { max: 1 });
  try {
    const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, admin.email));
    const { token } = await (await signer(env)).sign({ sub: row!.id, role: "admin", jti: uuidv7(), fam: uuidv7() });
    return { id: row!.id, token };
  } finally {
    await db.$client.end();
  }
}
