// What the identity routes accept and answer; the same schemas validate requests and feed /openapi.json.
import { z } from "zod";
import { text } from "../validate";

export const password = text()
  .min(8, "at least 8 characters")
  .max(128)
  .regex(/[A-Za-z]/, "needs a letter")
  .regex(/\d/, "needs a digit")
  .regex(/[^A-Za-z0-9]/, "needs a symbol");
export const email = text().trim().toLowerCase().email().max(254);
export const role = z.enum(["shopper", "seller", "admin"]);

export const signup = z.object({ email, password, name: text().trim().min(1).max(100), role: z.enum(["shopper", "seller"]).optional() });
export const login = z.object({ email, password: text().min(1).max(128) });
export const refresh = z.object({ refreshToken: text().min(20).max(200) });
export const roleChange = z.object({ role });

export const user = z
  .object({ id: z.uuid(), email: z.string(), name: z.string(), role, createdAt: z.iso.datetime() })
  .meta({ id: "User" });
export const tokenPair = z
  .object({ accessToken: z.string(), refreshToken: z.string(), tokenType: z.literal("Bearer"), expiresIn: z.number().int().describe("seconds") })
  .meta({ id: "TokenPair" });
export const jwks = z.object({ keys: z.array(z.looseObject({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), kid: z.string(), alg: z.literal("EdDSA") })) });
