// Bearer tokens: `authenticate` puts the verified claims in the context when a token is sent;
// `requireRole` lets a route through only for the roles it names (and tells /openapi.json so).
import type { MiddlewareHandler } from "hono";
import type { Role } from "../../db";
import type { Claims, TokenService } from "../auth/tokens";
import type { Env } from "../deps";
import { AppError } from "../errors";

const ROLES = Symbol("roles");

/**
 * The token in an Authorization header (undefined: none sent; null: not a Bearer token); the scheme is
 * case-insensitive (RFC 9110). The token's form is left to verification: a cached token is known exactly.
 */
export function bearer(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== "bearer ") return null;
  const token = header.slice(7).trim();
  return token && !token.includes(" ") ? token : null;
}

export function authenticate(tokens: TokenService): MiddlewareHandler<Env> {
  return async function authenticate(c, next) {
    // read once by the rate limiter when it runs first
    const seen = c.get("bearer");
    const token = seen !== undefined ? seen : bearer(c.req.header("authorization"));
    if (token === null) throw new AppError("UNAUTHENTICATED", "expected: Authorization: Bearer <token>");
    if (token !== undefined) c.set("user", await tokens.verify(token));
    await next();
  };
}

/** No roles: any signed-in user. */
export function requireRole(...roles: Role[]): MiddlewareHandler<Env> {
  const mw: MiddlewareHandler<Env> = async function requireRole(c, next) {
    const user = c.get("user");
    if (!user) throw new AppError("UNAUTHENTICATED");
    if (roles.length && !roles.includes(user.role)) throw new AppError("FORBIDDEN");
    await next();
  };
  return Object.assign(mw, { [ROLES]: roles });
}

export const rolesOf = (h: unknown): Role[] | undefined => (h as { [ROLES]?: Role[] } | undefined)?.[ROLES];

/** The caller's claims in a handler behind requireRole. */
export function caller(c: { get(k: "user"): Claims | undefined }): Claims {
  const u = c.get("user");
  if (!u) throw new AppError("UNAUTHENTICATED");
  return u;
}
