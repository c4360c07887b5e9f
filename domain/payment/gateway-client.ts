// The client of the external payment gateway (here: the simulator), and the webhook signature scheme
// it uses: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
import { createHmac, timingSafeEqual } from "node:crypto";
import { type Breaker, breaker } from "./breaker";

export type GatewayPayment = {
  id: string;
  orderId: string;
  amount: number;
  method: string;
  status: "pending" | "approved" | "declined";
  refunded: number;
};

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function gatewayClient(
  baseUrl: string,
  timeoutMs: number,
  b: Breaker = breaker("payment_gateway", { timeoutMs }),
) {
  async function request<T>(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    const answer = await b.call(async (signal) => {
      const res = await fetch(baseUrl + path, {
        method,
        signal,
        headers: {
          "content-type": "application/json",
          ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // a 4xx is the gateway answering (no such payment, not refundable): only 5xx, timeouts and network
      // faults count against the breaker, or anyone able to send a signed note about an unknown payment
      // could open it for everyone's real settlements
      if (res.status >= 500) throw new GatewayError(`gateway ${method} ${path}: ${res.status}`, res.status);
      return res.ok
        ? { ok: true as const, value: (await res.json()) as T }
        : { ok: false as const, status: res.status };
    });
    if (!answer.ok) throw new GatewayError(`gateway ${method} ${path}: ${answer.status}`, answer.status);
    return answer.value;
  }
  return {
    breaker: b,
    charge: (p: { orderId: string; amount: number; method: string }) =>
      request<GatewayPayment>("POST", "/payments", p, p.orderId),
    get: (id: string) => request<GatewayPayment>("GET", `/payments/${encodeURIComponent(id)}`),
    refund: (id: string, amount: number, key: string) =>
      request<GatewayPayment>("POST", `/payments/${encodeURIComponent(id)}/refunds`, { amount }, key),
  };
}
export type GatewayClient = ReturnType<typeof gatewayClient>;

const TOLERANCE_S = 300;

export function signWebhook(secret: string, body: string, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

/** Constant-time check of the signature, refusing timestamps outside five minutes (replays). */
export function verifyWebhook(secret: string, body: string, header: string | undefined, now = Date.now()): boolean {
  const parts = Object.fromEntries((header ?? "").split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(now / 1000 - t) > TOLERANCE_S) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
