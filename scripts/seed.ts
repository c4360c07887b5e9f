// Demo data: the admin (created or updated at every start), a demo seller and shopper, a few products.
import { desc, eq, sql } from "drizzle-orm";
import { type Db, products, saleStock, sales, stock, users } from "../db";
import { hashPassword } from "../edge/auth/passwords";
import { uuidv7 } from "../nats";

export const demo = {
  seller: { email: "seller@example.com", password: "Seller1!pass", name: "Demo Seller", role: "seller" as const },
  shopper: { email: "shopper@example.com", password: "Shopper1!pass", name: "Demo Shopper", role: "shopper" as const },
};

async function upsertUser(
  db: Db,
  u: { email: string; password: string; name: string; role: "shopper" | "seller" | "admin" },
  overwrite: boolean,
) {
  const passwordHash = await hashPassword(u.password);
  const [row] = await db
    .insert(users)
    // the demo accounts' emails count as verified, so they work with REQUIRE_VERIFIED_EMAIL on
    .values({ id: uuidv7(), email: u.email, name: u.name, role: u.role, passwordHash, emailVerifiedAt: new Date() })
    .onConflictDoUpdate({
      target: users.email,
      set: overwrite
        ? { passwordHash, role: u.role, emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` }
        : { emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` },
    })
    .returning();
  return row!;
}

/** Returns the demo flash sale's id. */
export async function seed(db: Db, admin: { email: string; password: string }): Promise<{ saleId: string }> {
  await upsertUser(db, { ...admin, name: "Admin", role: "admin" }, true);
  const seller = await upsertUser(db, demo.seller, false);
  await upsertUser(db, demo.shopper, false);
  const mine = await db.select({ id: products.id }).from(products).where(eq(products.sellerId, seller.id)).limit(1);
  if (!mine.length) {
    const items = [
      { name: "Mechanical keyboard", price: 89_000, stock: 100 },
      { name: "Noise-cancelling headphones", price: 249_000, stock: 50 },
      { name: "USB-C charger 65W", price: 39_000, stock: 500 },
      { name: "나이키운동화 에어 러닝화", price: 129_000, stock: 80 },
    ];
    for (const p of items) {
      const id = uuidv7();
      await db.transaction(async (tx) => {
        await tx.insert(products).values({ id, sellerId: seller.id, name: p.name, price: p.price });
        await tx.insert(stock).values({ productId: id, available: p.stock });
      });
    }
  }
  let [sale] = await db
    .select({ id: sales.id })
    .from(sales)
    .where(eq(sales.sellerId, seller.id))
    .orderBy(desc(sales.id))
    .limit(1);
  if (!sale) sale = { id: await demoSale(db, seller.id) };
  return { saleId: sale.id };
}

/** A live flash sale of 100 units (its Redis gate is built from Postgres on first use). */
async function demoSale(db: Db, sellerId: string): Promise<string> {
  const productId = uuidv7();
  const saleId = uuidv7();
  await db.transaction(async (tx) => {
    await tx
      .insert(products)
      .values({ id: productId, sellerId, name: "Limited sneakers (flash sale)", price: 199_000 });
    await tx.insert(stock).values({ productId, available: 200 });
    await tx.insert(sales).values({
      id: saleId,
      productId,
      sellerId,
      price: 99_000,
      quantity: 100,
      perUserLimit: 1,
      startsAt: new Date(),
      endsAt: new Date(Date.now() + 7 * 86_400_000),
    });
    await tx.insert(saleStock).values({ saleId, available: 100 });
  });
  return saleId;
}
