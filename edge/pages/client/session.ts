// The signed-in user of a page. Both tokens live in this closure only: never in localStorage, sessionStorage,
// a cookie or a URL, so nothing outlives the tab and no other page of the origin can read them. The access
// token is refreshed shortly before it expires (and once on TOKEN_EXPIRED); the refresh token is traded for a
// new pair each time (rotation) and revoked with its family on logout. A reload means signing in again.

export type User = { id: string; email: string; name: string; role: "shopper" | "seller" | "admin" };

/** A problem answer (application/problem+json) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** Refresh this long before the access token expires. */
const EARLY_MS = 30_000;

export function session() {
  let tokens: { access: string; refresh: string; expiresAt: number } | undefined;
  let refreshing: Promise<void> | undefined;
  let user: User | undefined;
  const listeners = new Set<(u: User | undefined) => void>();

  const keep = (t: { accessToken: string; refreshToken: string; expiresIn: number }) => {
    tokens = { access: t.accessToken, refresh: t.refreshToken, expiresAt: Date.now() + t.expiresIn * 1000 };
  };
  const signedOut = () => {
    tokens = undefined;
    user = undefined;
    for (const l of listeners) l(undefined);
  };

  async function send(
    method: string,
    path: string,
    o: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
  ) {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: {
          ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...o.headers,
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
    } catch {
      throw new ApiError(0, "NETWORK", "the server could not be reached");
    }
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    if (!res.ok)
      throw new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, body?.detail ?? body?.title ?? res.statusText);
    return body;
  }

  function refresh(): Promise<void> {
    // checked before the shared promise exists: a rejection settled at once would otherwise stay cached in it
    if (!tokens) return Promise.reject(new ApiError(401, "UNAUTHENTICATED", "not signed in"));
    const refreshToken = tokens.refresh;
    refreshing ??= (async () => {
      try {
        keep(await send("POST", "/v1/auth/refresh", { body: { refreshToken } }));
      } catch (err) {
        // refused (expired, reused, revoked): signed out; a network failure leaves the pair for the next try
        if (!(err instanceof ApiError) || err.status !== 0) signedOut();
        throw err;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  /** The access token, refreshed first when it is about to expire; undefined when signed out. */
  async function token(): Promise<string | undefined> {
    if (tokens && tokens.expiresAt - EARLY_MS <= Date.now()) await refresh().catch(() => {});
    return tokens?.access;
  }

  return {
    get user() {
      return user;
    },
    onChange(l: (u: User | undefined) => void) {
      listeners.add(l);
    },
    token,
    async login(email: string, password: string): Promise<User> {
      keep(await send("POST", "/v1/auth/login", { body: { email, password } }));
      user = (await send("GET", "/v1/me", { token: tokens!.access })) as User;
      for (const l of listeners) l(user);
      return user;
    },
    async logout() {
      const t = tokens?.access;
      signedOut();
      if (t) await send("POST", "/v1/auth/logout", { token: t }).catch(() => {});
    },
    /** An API call with the access token; an expired token is refreshed and the call sent once more. */
    async call<T = unknown>(
      method: string,
      path: string,
      o: { body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<T> {
      try {
        return await send(method, path, { ...o, token: await token() });
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== "TOKEN_EXPIRED" || !tokens) throw err;
        await refresh();
        return send(method, path, { ...o, token: tokens?.access });
      }
    },
  };
}
export type Session = ReturnType<typeof session>;
