// Access tokens: EdDSA JWTs signed here and verified once per token, then served from a bounded cache
// until they expire. Revoked token ids live in a local set fed by broadcasts over NATS.
import { errors, type JWTHeaderParameters, jwtVerify, SignJWT } from "jose";
import type { Role } from "../../db";
import { AppError } from "../errors";
import type { KeyRing } from "./keys";

export type Claims = { sub: string; role: Role; jti: string; fam: string; exp: number };

const MAX_CACHED = 100_000;
/** At most one key reload per this long, so tokens with made-up kids cannot make an edge reread keys. */
const RELOAD_EVERY_MS = 30_000;

export function tokenService(
  initial: KeyRing,
  opts: { issuer: string; ttlS: number; reload?: () => Promise<KeyRing> },
) {
  let keys = initial;
  let reloadedAt = 0;
  const cache = new Map<string, Claims>();
  const revoked = new Map<string, number>(); // jti -> exp (s)

  /**
   * A kid this edge does not know may come from a key another edge rotated in (the development key
   * file is shared): reread the keys then, at most every RELOAD_EVERY_MS, the way JWKS clients do.
   */
  async function keyFor(kid: string | undefined) {
    if (!kid) return undefined;
    if (!keys.verifiers.has(kid) && opts.reload && Date.now() - reloadedAt > RELOAD_EVERY_MS) {
      reloadedAt = Date.now();
      keys = await opts.reload();
    }
    return keys.verifiers.get(kid);
  }

  async function sign(c: Omit<Claims, "exp">): Promise<{ token: string; exp: number }> {
    const exp = Math.floor(Date.now() / 1000) + opts.ttlS;
    const token = await new SignJWT({ role: c.role, fam: c.fam })
      .setProtectedHeader({ alg: "EdDSA", kid: keys.kid, typ: "JWT" })
      .setSubject(c.sub)
      .setJti(c.jti)
      .setIssuer(opts.issuer)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(keys.privateKey);
    return { token, exp };
  }

  async function verify(token: string): Promise<Claims> {
    const now = Date.now() / 1000;
    let claims = cache.get(token);
    if (!claims) {
      try {
        const { payload } = await jwtVerify(
          token,
          async (header: JWTHeaderParameters) => {
            const key = await keyFor(header.kid);
            if (!key) throw new AppError("UNAUTHENTICATED", "unknown signing key");
            return key;
          },
          { algorithms: ["EdDSA"], issuer: opts.issuer, requiredClaims: ["sub", "jti", "exp"] },
        );
        if (!isRole(payload.role) || typeof payload.fam !== "string")
          throw new AppError("UNAUTHENTICATED", "malformed token");
        claims = { sub: payload.sub!, role: payload.role, jti: payload.jti!, fam: payload.fam, exp: payload.exp! };
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw new AppError("TOKEN_EXPIRED");
        if (err instanceof AppError) throw err;
        throw new AppError("UNAUTHENTICATED", "invalid token");
      }
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(token, claims);
    }
    if (claims.exp <= now) {
      cache.delete(token);
      throw new AppError("TOKEN_EXPIRED");
    }
    if (revoked.has(claims.jti)) throw new AppError("UNAUTHENTICATED", "token revoked");
    return claims;
  }

  /** The claims of a token this edge has already verified, unexpired and not revoked; no verification. */
  function peek(token: string): Claims | undefined {
    const claims = cache.get(token);
    return claims && claims.exp > Date.now() / 1000 && !revoked.has(claims.jti) ? claims : undefined;
  }

  /** Whether this edge has verified the token's signature before (it may have expired or been revoked since). */
  const seen = (token: string) => cache.has(token);

  function revoke(jtis: string[], exp: number) {
    for (const j of jtis) revoked.set(j, exp);
  }

  /** Drops revocations whose tokens have expired anyway. */
  function prune() {
    const now = Date.now() / 1000;
    for (const [j, exp] of revoked) if (exp <= now) revoked.delete(j);
  }

  return {
    sign,
    verify,
    peek,
    seen,
    revoke,
    prune,
    get jwks() {
      return keys.jwks;
    },
  };
}
export type TokenService = ReturnType<typeof tokenService>;

const isRole = (r: unknown): r is Role => r === "shopper" || r === "seller" || r === "admin";
