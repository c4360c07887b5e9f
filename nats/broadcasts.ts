// Core NATS subjects (not persisted in a stream) that every edge instance listens to.
import { z } from "zod";

/** An access token killed before its expiry; every edge adds it to its local revocation set. */
export const TOKEN_REVOKED = "auth.revoked";
export const tokenRevoked = z.object({ jtis: z.array(z.string().uuid()), exp: z.number().int() });
export type TokenRevoked = z.infer<typeof tokenRevoked>;

/** Units of a flash sale came back (declined payment, cancel, abandoned hold): edges drop their sold-out flag. */
export const SALE_RESTOCKED = "sales.restocked";
export const saleRestocked = z.object({ saleId: z.string().uuid(), at: z.number().int().optional() });

/** Redis answered SOLD_OUT to a purchase sent at `at` (ms): every edge answers it from memory until a restock. */
export const SALE_SOLD_OUT = "sales.soldout";
export const saleSoldOut = z.object({ saleId: z.string().uuid(), at: z.number().int() });

/**
 * An order's status changed, sent by the order actor after its commit (subject `status.order.<orderId>`, outside
 * every stream). Edges streaming that order's events re-read its history then; a lost one is caught by a re-read.
 */
export const orderStatusSubject = (orderId: string) => `status.order.${orderId}`;
/** Every order's status broadcast (the ops console's feed listens to all of them). */
export const ORDER_STATUS_ANY = "status.order.>";
export const orderStatusChanged = z.object({ orderId: z.string().uuid(), status: z.string() });
export type OrderStatusChanged = z.infer<typeof orderStatusChanged>;
