// The flash-sale gate over Redis: decides purchases, gives units back, loads and reads a sale's counters.

import { luaScript, type RedisClient } from "../redis";
import { decodeHold, type Hold, idemField } from "./hold";
import { loadLua, markLua, purchaseLua, releaseLua, repairLua } from "./lua";

export const saleKeys = (saleId: string) => {
  const tag = `sale:{${saleId}}`;
  return [tag, `${tag}:users`, `${tag}:holds`, `${tag}:idem`] as const;
};

/**
 * A hold's placement is published (and acked by JetStream) within this long of the hold, or not at all: the
 * edge gives up on it then, and a keyed retry waits (BUSY) until the order is in Postgres or given up. So the
 * hold sweeper, whose grace is longer, never gives up a placement that JetStream acked but has not delivered.
 */
export const PLACEMENT_WINDOW_MS = 8_000;
/** The least grace the hold sweeper may give: the window, and room for clocks and the drain check. */
export const MIN_HOLD_GRACE_MS = PLACEMENT_WINDOW_MS + 2_000;

/** `placeBy`: the time by which its placement must be acked (undefined: no bound, its order is past the gate). */
export type PurchaseResult =
  | {
      ok: true;
      orderId: string;
      itemId: string;
      position: number;
      remaining: number;
      replayed: false;
      placeBy: number;
    }
  | { ok: true; orderId: string; itemId: string; replayed: true; placeBy?: number }
  /** A keyed retry of a hold whose placement may no longer be acked or is being given up: its order's outcome is awaited. */
  | { ok: false; code: "BUSY"; orderId: string; itemId: string }
  | {
      ok: false;
      code: "MISSING" | "NONE" | "IDEMPOTENCY_KEY_REUSED" | "NOT_STARTED" | "ENDED" | "LIMIT_REACHED" | "SOLD_OUT";
    };

export type GateLoad = {
  remaining: number;
  limit: number;
  quantity: number;
  startsAt: number;
  endsAt: number;
  expireAt: number;
  seq: number;
  users: Record<string, number>;
  holds: Record<string, string>;
  /** userId:Idempotency-Key -> "orderId|itemId|requestHash" */
  idem: Record<string, string>;
};

const scripts = {
  purchase: luaScript(purchaseLua),
  release: luaScript(releaseLua),
  mark: luaScript(markLua),
  load: luaScript(loadLua),
  repair: luaScript(repairLua),
};

export function gate(redis: RedisClient) {
  return {
    /** `replayOnly`: only answer whether this Idempotency-Key was seen (REPLAY) or not (NONE). */
    async purchase(p: {
      saleId: string;
      userId: string;
      qty: number;
      orderId: string;
      itemId: string;
      idemKey?: string;
      requestHash?: string;
      now?: number;
      replayOnly?: boolean;
    }): Promise<PurchaseResult> {
      const idem = p.idemKey ? idemField(p.userId, p.idemKey) : "";
      const now = p.now ?? Date.now();
      const args = [
        p.userId,
        p.qty,
        p.orderId,
        now,
        idem,
        p.requestHash ?? "",
        p.itemId,
        p.replayOnly ? "1" : "0",
        PLACEMENT_WINDOW_MS,
      ];
      const res = (await scripts.purchase(redis, [...saleKeys(p.saleId)], args)) as (string | number)[];
      const code = String(res[0]);
      if (code === "OK")
        return {
          ok: true,
          orderId: String(res[1]),
          itemId: String(res[2]),
          position: Number(res[3]),
          remaining: Number(res[4]),
          replayed: false,
          placeBy: now + PLACEMENT_WINDOW_MS,
        };
      if (code === "REPLAY") {
        const by = Number(res[3]);
        return {
          ok: true,
          orderId: String(res[1]),
          itemId: String(res[2]),
          replayed: true,
          ...(by ? { placeBy: by } : {}),
        };
      }
      if (code === "BUSY") return { ok: false, code, orderId: String(res[1]), itemId: String(res[2]) };
      return { ok: false, code: code as Exclude<Extract<PurchaseResult, { ok: false }>["code"], "BUSY"> };
    },

    /** Returns the units given back (0 when the hold was released already, -1 when the gate is not loaded). */
    release: (saleId: string, orderId: string, opts: { forgetIdempotency?: boolean; now?: number } = {}) =>
      scripts.release(
        redis,
        [...saleKeys(saleId)],
        [orderId, opts.now ?? Date.now(), opts.forgetIdempotency ? "1" : "0"],
      ) as Promise<number>,

    /** Moves the holds that are in state `from` to state `to`; returns how many moved. */
    mark: (saleId: string, from: Hold["state"], to: Hold["state"], orderIds: string[]) =>
      orderIds.length
        ? (scripts.mark(redis, [saleKeys(saleId)[2]], [from, to, ...orderIds]) as Promise<number>)
        : Promise.resolve(0),

    load: (saleId: string, l: GateLoad) =>
      scripts.load(redis, [...saleKeys(saleId)], [JSON.stringify(l)]).then((n) => n === 1),

    /** Merges Postgres's holds into a loaded gate (see repairLua); undefined when the gate is not loaded. */
    async repair(saleId: string, l: GateLoad, now = Date.now()) {
      const res = await scripts.repair(redis, [...saleKeys(saleId)], [JSON.stringify(l), now]);
      return Array.isArray(res) ? { before: Number(res[0]), after: Number(res[1]) } : undefined;
    },

    async counters(saleId: string) {
      const h = await redis.hgetall(saleKeys(saleId)[0]);
      if (!h.remaining) return undefined;
      const n = (k: string) => Number(h[k] ?? 0);
      return {
        remaining: n("remaining"),
        quantity: n("quantity"),
        admitted: n("seq"),
        released: n("released"),
        soldOutAnswers: n("soldOutAnswers"),
        soldOutAt: h.soldOutAt ? n("soldOutAt") : undefined,
        lastSoldOutAt: h.lastSoldOutAt ? n("lastSoldOutAt") : undefined,
        lastRestockAt: h.lastRestockAt ? n("lastRestockAt") : undefined,
      };
    },

    async holds(saleId: string): Promise<Hold[]> {
      const all = await redis.hgetall(saleKeys(saleId)[2]);
      return Object.entries(all).map(([orderId, v]) => decodeHold(orderId, v));
    },

    async users(saleId: string): Promise<Record<string, number>> {
      const all = await redis.hgetall(saleKeys(saleId)[1]);
      return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Number(v)]));
    },
  };
}
export type Gate = ReturnType<typeof gate>;
