// What the identity routes accept and answer; the same schemas validate requests and feed /openapi.json.
import { z } from "zod";
import { pageQuerySchema } from "../pagination";
import { text } from "../validate";

export const password = text()
  .min(8, "at least 8 characters")
  .max(128)
  .regex(/[A-Za-z]/, "needs a letter")
  .regex(/\d/, "needs a digit")
  .regex(/[^A-Za-z0-9]/, "needs a symbol");
export const email = text().trim().toLowerCase().email().max(254);
export const role = z.enum(["shopper", "seller", "admin"]);

export const signup = z.object({
  email,
  password,
  name: text().trim().min(1).max(100),
  role: z.enum(["shopper", "seller"]).optional(),
});
export const login = z.object({ email, password: text().min(1).max(128) });
export const refresh = z.object({ refreshToken: text().min(20).max(200) });
export const roleChange = z.object({ role });

export const user = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role,
    emailVerified: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "User" });
export const tokenPair = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().describe("seconds"),
  })
  .meta({ id: "TokenPair" });
export const jwks = z.object({
  keys: z.array(
    z.looseObject({
      kty: z.literal("OKP"),
      crv: z.literal("Ed25519"),
      x: z.string(),
      kid: z.string(),
      alg: z.literal("EdDSA"),
    }),
  ),
});

/** A token from a mailed link (base64url of 32 random bytes). */
const mailedToken = text().min(20).max(200);
export const tokenOnly = z.object({ token: mailedToken });
export const forgot = z.object({ email });
export const reset = z.object({ token: mailedToken, password });

export const userPage = z.object({ items: z.array(user), nextCursor: z.uuid().nullable() }).meta({ id: "UserPage" });
export const userSearch = pageQuerySchema.extend({
  email: text().trim().toLowerCase().max(254).optional().describe("matches emails that start with this"),
  role: role.optional(),
});

/** A WebAuthn credential as the browser's `PublicKeyCredential.toJSON()` gives it; @simplewebauthn checks the rest. */
const b64url = text()
  .regex(/^[A-Za-z0-9_-]*={0,2}$/, "base64url")
  .max(16_384);
const credential = <S extends z.ZodRawShape>(response: S) =>
  z.object({
    id: b64url.min(1).max(1024),
    rawId: b64url.min(1).max(1024),
    type: z.literal("public-key"),
    response: z.looseObject({ clientDataJSON: b64url, ...response }),
    authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
    clientExtensionResults: z.looseObject({}).default({}),
  });
export const passkeyRegistration = z.object({
  response: credential({ attestationObject: b64url, transports: z.array(text().max(32)).max(10).optional() }),
});
export const passkeyAssertion = z.object({
  response: credential({ authenticatorData: b64url, signature: b64url, userHandle: b64url.optional() }),
});
export const passkeyLoginOptions = z.object({ email: email.optional() });
export const passkey = z
  .object({
    id: z.uuid(),
    credentialId: z.string(),
    transports: z.array(z.string()),
    deviceType: z.enum(["singleDevice", "multiDevice"]),
    backedUp: z.boolean(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "Passkey" });
export const passkeyList = z.object({ items: z.array(passkey) });
export const webauthnOptions = z
  .looseObject({ challenge: z.string(), rpId: z.string().optional(), timeout: z.number().optional() })
  .describe("WebAuthn options (JSON), for PublicKeyCredential.parse*OptionsFromJSON or @simplewebauthn/browser");
