// Core NATS subjects (not persisted in a stream) that every edge instance listens to.
import { z } from "zod";

/** An access token killed before its expiry; every edge adds it to its local revocation set. */
export const TOKEN_REVOKED = "auth.revoked";
export const tokenRevoked = z.object({ jtis: z.array(z.string().uuid()), exp: z.number().int() });
export type TokenRevoked = z.infer<typeof tokenRevoked>;
