// What the catalog routes accept and answer; the same schemas validate requests and feed /openapi.json.
import { z } from "zod";
import { text } from "../validate";

const money = z.number().int().min(0).max(1_000_000_000);

export const createProduct = z.object({
  name: text().trim().min(1).max(200),
  description: text({ multiline: true }).max(5000).optional(),
  price: money.describe("KRW"),
  stock: z.number().int().min(0).max(10_000_000),
});
export const updateProduct = createProduct.partial().refine((v) => Object.keys(v).length > 0, "nothing to update");

export const product = z
  .object({
    id: z.uuid(),
    sellerId: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    price: z.number().int(),
    stock: z.number().int().describe("available units, read live"),
    likes: z.number().int().describe("shoppers who like it, read live"),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Product" });
export const productPage = z.object({
  items: z.array(product),
  nextCursor: z.string().nullable().describe("pass as `cursor` for the next page, with the same query and sort"),
});
export const likeState = z.object({ liked: z.boolean(), likes: z.number().int() });
export const likedPage = z.object({
  items: z.array(product.extend({ likedAt: z.iso.datetime() })),
  nextCursor: z.uuid().nullable(),
});
export const popularPage = z.object({
  items: z.array(
    product.extend({ score: z.number().int().describe(`likes and confirmed units sold in the last 7 days`) }),
  ),
});
