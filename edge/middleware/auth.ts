// Bearer tokens: `bearer` reads the header (the front layer verifies it and puts the claims in the context);
// `requireRole` lets a route through only for the roles it names (and tells /openapi.json so).
import type { MiddlewareHandler } from "hono";
import type { Role } from "../../db";
import type { Claims } from "../auth/tokens";
import type { Env } from "../deps";
import { AppError } from "../errors";

const ROLES = Symbol("roles");

/**
 * The token in an Authorization header (undefined: none sent; null: not a Bearer token); the scheme is
 * case-insensitive (RFC 9110). The token's form is left to verification: a cached token is known exactly.
 */
export function bearer(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  if (header.length < 8 || (!header.startsWith("Bearer ") && header.slice(0, 7).toLowerCase() !== "bearer "))
    return null;
  const token = header.slice(7).trim();
  return token && !token.includes(" ") ? token : null;
}

/** No roles: any signed-in user. */
export function requireRole(...roles: Role[]): MiddlewareHandler<Env> {
  // not async: a check with nothing to await passes on next()'s own promise
  const mw: MiddlewareHandler<Env> = function requireRole(c, next) {
    const user = c.get("user");
    if (!user) throw new AppError("UNAUTHENTICATED");
    if (roles.length && !roles.includes(user.role)) throw new AppError("FORBIDDEN");
    return next();
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
