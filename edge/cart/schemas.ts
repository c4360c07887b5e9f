// What the cart routes accept and answer; the same schemas validate requests and feed /openapi.json.
import { z } from "zod";

export const setQuantity = z.object({ quantity: z.number().int().min(1).max(1000) });

export const cart = z
  .object({
    items: z.array(
      z.object({
        productId: z.uuid(),
        name: z.string(),
        price: z.number().int(),
        quantity: z.number().int(),
        subtotal: z.number().int(),
        stock: z.number().int().describe("available units now"),
      }),
    ),
    total: z.number().int().describe("KRW, computed here"),
  })
  .meta({ id: "Cart" });
