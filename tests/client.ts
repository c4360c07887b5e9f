// A small HTTP client for whole-stack tests.
import { expect } from "bun:test";

/** JSON a test reads as it expects it to be: the test's own assertions are the check. */
// biome-ignore lint/suspicious/noExplicitAny: the one place whole-stack tests leave a JSON body untyped
export type Json = any;
export type Res<T = Json> = { status: number; body: T; headers: Headers };

export function client(base: string) {
  async function call<T = Json>(
    method: string,
    path: string,
    o: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Res<T>> {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...o.headers,
      },
      body: o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body: body as T, headers: res.headers };
  }

  let n = 0;
  async function user(role: "shopper" | "seller" = "shopper") {
    const email = `${role}-${Date.now()}-${n++}-${Math.random().toString(36).slice(2, 8)}@test.dev`;
    const password = "Passw0rd!";
    const signup = await call("POST", "/v1/auth/signup", { body: { email, password, name: role, role } });
    expect(signup.status).toBe(201);
    const login = await call("POST", "/v1/auth/login", { body: { email, password } });
    expect(login.status).toBe(200);
    return {
      id: signup.body.id as string,
      email,
      password,
      token: login.body.accessToken as string,
      refreshToken: login.body.refreshToken as string,
    };
  }

  async function login(email: string, password: string) {
    const r = await call("POST", "/v1/auth/login", { body: { email, password } });
    expect(r.status).toBe(200);
    return r.body.accessToken as string;
  }

  async function product(sellerToken: string, price = 1000, stock = 10) {
    const r = await call("POST", "/v1/products", { token: sellerToken, body: { name: "Test product", price, stock } });
    expect(r.status).toBe(201);
    return r.body as { id: string; price: number; stock: number };
  }

  /** Polls an order until its status is not PENDING (or the time runs out). */
  async function settled(token: string, orderId: string, ms = 15_000) {
    const until = Date.now() + ms;
    for (;;) {
      const r = await call("GET", `/v1/orders/${orderId}`, { token });
      if (r.status === 200 && r.body.status !== "PENDING") return r.body;
      if (Date.now() > until) throw new Error(`order ${orderId} still ${r.body?.status ?? r.status}`);
      await Bun.sleep(50);
    }
  }

  return { call, user, login, product, settled };
}

/** Waits until `check` returns a value that is not undefined, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 10_000, what = "condition"): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}
