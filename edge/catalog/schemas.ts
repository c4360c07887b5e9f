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
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Product" });
export const productPage = z.object({ items: z.array(product), nextCursor: z.uuid().nullable() });
