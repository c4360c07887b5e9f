// Bearer tokens: `authenticate` puts the verified claims in the context when a token is sent;
// `requireRole` lets a route through only for the roles it names.
import type { MiddlewareHandler } from "hono";
import type { Role } from "../../db";
import type { Claims, TokenService } from "../auth/tokens";
import type { Env } from "../deps";
import { AppError } from "../errors";

export function authenticate(tokens: TokenService): MiddlewareHandler<Env> {
  return async function authenticate(c, next) {
    const header = c.req.header("authorization");
    if (header) {
      const m = header.match(/^Bearer ([\w-]+\.[\w-]+\.[\w-]*)$/);
      if (!m) throw new AppError("UNAUTHENTICATED", "expected a Bearer token");
      c.set("user", await tokens.verify(m[1]!));
    }
    await next();
  };
}

export function requireRole(...roles: Role[]): MiddlewareHandler<Env> {
  return async function requireRole(c, next) {
    const user = c.get("user");
    if (!user) throw new AppError("UNAUTHENTICATED");
    if (roles.length && !roles.includes(user.role)) throw new AppError("FORBIDDEN");
    await next();
  };
}

/** The caller's claims in a handler behind requireRole. */
export function caller(c: { get(k: "user"): Claims | undefined }): Claims {
  const u = c.get("user");
  if (!u) throw new AppError("UNAUTHENTICATED");
  return u;
}
