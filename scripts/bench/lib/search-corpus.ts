// A catalog of many products for search measurements, written by Postgres itself (one statement): names and
// descriptions drawn from Korean and English shop words, Korean compounds written without spaces as shops
// write them ("나이키운동화"), and a numbered model code in each name so rare words exist too.
import { sql } from "drizzle-orm";
import type { Db } from "../../../db";

const KOREAN = [
  "나이키",
  "운동화",
  "러닝화",
  "가방",
  "신발",
  "모자",
  "티셔츠",
  "청바지",
  "노트북",
  "키보드",
  "마우스",
  "커피",
  "텀블러",
  "양말",
  "자켓",
  "가죽",
  "무선",
  "여름",
  "겨울",
  "할인",
];
const ENGLISH = [
  "nike",
  "running",
  "shoes",
  "bag",
  "laptop",
  "keyboard",
  "coffee",
  "tumbler",
  "socks",
  "jacket",
  "wireless",
  "mouse",
  "cotton",
  "leather",
  "vintage",
  "summer",
  "winter",
  "classic",
  "sport",
  "denim",
];

/** Writes `n` products of `sellerId` (with stock), then ANALYZE so the planner knows them. */
export async function writeCorpus(db: Db, n: number, sellerId: string): Promise<void> {
  const ko = sql.raw(`(array[${KOREAN.map((w) => `'${w}'`).join(",")}])`);
  const en = sql.raw(`(array[${ENGLISH.map((w) => `'${w}'`).join(",")}])`);
  await db.transaction(async (tx) => {
    await tx.execute(sql`select setseed(0.42)`);
    await tx.execute(sql`
    with made as (
      select gen_random_uuid() as id, i,
        ${ko}[1 + (random() * 19)::int] || ${ko}[1 + (random() * 19)::int] as compound,
        ${ko}[1 + (random() * 19)::int] as ko_word,
        ${en}[1 + (random() * 19)::int] as en_a,
        ${en}[1 + (random() * 19)::int] as en_b,
        ${en}[1 + (random() * 19)::int] as en_c,
        ${ko}[1 + (random() * 19)::int] as ko_desc
      from generate_series(1, ${n}) as i
    ), inserted as (
      insert into catalog.products (id, seller_id, name, description, price, likes)
      select id, ${sellerId}::uuid, compound || ' ' || en_a || ' ' || en_b || ' MX-' || i,
        ko_desc || ' ' || ko_word || ' ' || en_c || ' made for every day', 1000 + (i * 7919) % 200000, (i * 31) % 97
      from made
      returning id
    )
    insert into inventory.stock (product_id, available) select id, (random() * 3)::int from inserted`);
  });
  await db.execute(sql`analyze catalog.products`);
  await db.execute(sql`analyze inventory.stock`);
}
