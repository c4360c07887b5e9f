// Many shoppers at once for load-shaped tests: rows written straight into the test database (one password
// hash shared by all) and access tokens signed with the running edge's own development key.
import { createDb, users } from "../../db";
import { devKeyRing } from "../../edge/auth/keys";
import { tokenService } from "../../edge/auth/tokens";
import { uuidv7 } from "../../nats";

export async function shoppers(env: Record<string, string>, n: number): Promise<{ id: string; token: string }[]> {
  const db = createDb(env.DATABASE_URL!, { max: 2 });
  const tokens = tokenService(await devKeyRing(env.KEYS_DIR!), { issuer: "flashsale", ttlS: 3600 });
  const passwordHash = await Bun.password.hash("Passw0rd!", { algorithm: "argon2id" });
  const rows = Array.from({ length: n }, () => {
    const id = uuidv7();
    return { id, email: `bulk-${id}@test.dev`, name: "bulk shopper", role: "shopper" as const, passwordHash };
  });
  for (let i = 0; i < rows.length; i += 1000) await db.insert(users).values(rows.slice(i, i + 1000));
  await db.$client.end();
  return Promise.all(
    rows.map(async (r) => ({ id: r.id, token: (await tokens.sign({ sub: r.id, role: "shopper", jti: uuidv7(), fam: uuidv7() })).token })),
  );
}
