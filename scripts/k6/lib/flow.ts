// The scenarios' request sequences are generators: they yield request descriptions (one, or a batch sent
// together, or a pause) and receive the answers. k6 drives them with k6/http (k6.ts), the whole-stack test
// with fetch, so what the test proves is what k6 sends. These files import nothing but types from each
// other, so both compilers (the project's and scripts/k6's) can check every one of them.

export type Req = {
  method: "GET" | "POST" | "PUT";
  path: string;
  body?: unknown;
  token?: string;
  /** Idempotency-Key */
  key?: string;
  /** X-Forwarded-For: the account's own address, which counts only when the edge trusts the load generator */
  from?: string;
  /** the k6 `name` tag that thresholds select on */
  name: string;
  /** the statuses k6 counts as not failed */
  expect: number[];
};
/** An answer: lower-case headers, the body parsed when it is JSON, and the problem code if any. */
// biome-ignore lint/suspicious/noExplicitAny: a JSON answer of any shape, which each flow checks field by field (typeof, Array.isArray)
export type Res = { status: number; headers: Record<string, string>; body: any; code: string };
export type Step = Req | Req[] | { waitMs: number };
export type Reply = Res | Res[] | undefined;
export type Flow<T> = Generator<Step, T, Reply>;
/** What one iteration saw: named check results and one outcome per answer. */
export type Result<O extends string = string> = { checks: [string, boolean][]; outcomes: O[] };
export type Shopper = { token: string; from: string; method: "card_ok" | "card_declined"; doubleClick: boolean };

/** A request as it goes on the wire, the same for both drivers. */
export function wire(base: string, r: Req) {
  const headers: Record<string, string> = { accept: "application/json" };
  if (r.body !== undefined) headers["content-type"] = "application/json";
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  if (r.key) headers["idempotency-key"] = r.key;
  if (r.from) headers["x-forwarded-for"] = r.from;
  return { method: r.method, url: base + r.path, headers, body: r.body === undefined ? null : JSON.stringify(r.body) };
}

export function answer(status: number, headers: Record<string, string>, text: string | null): Res {
  const lower: Record<string, string> = {};
  for (const k of Object.keys(headers)) lower[k.toLowerCase()] = headers[k]!;
  let body: Res["body"] = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  const code = body && typeof body === "object" && typeof body.code === "string" ? body.code : "";
  return { status, headers: lower, body, code };
}
