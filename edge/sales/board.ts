// What this edge process knows of each sale without asking anyone: the sale itself (it never changes once made)
// and whether Redis has said it is sold out. With it, a purchase that is bound to lose (sold out, not started,
// ended) is answered from memory before its token is checked or Redis is called: the sale's state is public anyway.
//
// The sold-out flag is set when Redis says no unit is left (a purchase took the last one, or a one-unit purchase
// was answered SOLD_OUT), and told to every other edge process (core NATS), so one Redis answer serves them all.
// It drops at once when units come back (`sales.restocked`, from the gate actor). It lasts SOLD_OUT_FLAG_MS, and
// while it stands the process reads the sale's remaining units once in that time (one Redis read per sale, not
// per request): still none, the flag is renewed; some, it drops, so a lost broadcast costs at most that long.
// Each message carries its time, so a sold-out message older than the last restock seen is ignored.
import { eq } from "drizzle-orm";
import { type Db, type Sale, sales } from "../../db";
import { type Bus, SALE_RESTOCKED, SALE_SOLD_OUT, saleRestocked, saleSoldOut } from "../../nats";
import { AppError } from "../errors";

export const ended = (s: Sale, now = Date.now()) => s.endsAt !== null && s.endsAt.getTime() <= now;

// made once: a loser's answer costs no error (and no stack) of its own
const SOLD_OUT = new AppError("SOLD_OUT", "this sale is sold out");
const ENDED = new AppError("ENDED", "the sale has ended");

export function saleBoard(d: {
  db: Db;
  bus: Bus;
  flagMs: number;
  remaining: (saleId: string) => Promise<number | undefined>;
}) {
  const known = new Map<string, Sale>();
  const soldOut = new Map<string, number>(); // saleId -> flagged until (ms)
  const restocked = new Map<string, number>(); // saleId -> last restock seen (ms)

  const isSoldOut = (saleId: string) => (soldOut.get(saleId) ?? 0) > Date.now();
  const flag = (saleId: string, at: number) => {
    // a restock in the same millisecond may have come after the answer: only an older one lets the flag stand
    if (d.flagMs > 0 && (restocked.get(saleId) ?? -1) < at) soldOut.set(saleId, at + d.flagMs);
  };
  d.bus.nc.subscribe(SALE_RESTOCKED, {
    callback: (_err, m) => {
      const r = saleRestocked.safeParse(m.json());
      if (!r.success) return;
      soldOut.delete(r.data.saleId);
      // restocks come from several publishers, not in order: keep the latest
      restocked.set(r.data.saleId, Math.max(restocked.get(r.data.saleId) ?? 0, r.data.at ?? Date.now()));
    },
  });
  // renews the flags about to lapse while their sales have no unit left (see above)
  const renew = setInterval(
    () => {
      const now = Date.now();
      for (const [saleId, until] of soldOut) {
        if (until - now > d.flagMs / 2) continue;
        const s = known.get(saleId);
        // an ended sale is answered ENDED from memory anyway; its keys live on a day for keyed retries
        if (s && ended(s, now)) {
          soldOut.delete(saleId);
          continue;
        }
        const askedAt = Date.now();
        d.remaining(saleId).then(
          (left) => (left !== undefined && left <= 0 ? flag(saleId, askedAt) : soldOut.delete(saleId)),
          () => {}, // Redis unreachable: the flag lapses, and requests ask for themselves
        );
      }
    },
    Math.max(50, d.flagMs / 4),
  );
  renew.unref();

  d.bus.nc.subscribe(SALE_SOLD_OUT, {
    callback: (_err, m) => {
      const r = saleSoldOut.safeParse(m.json());
      if (r.success) flag(r.data.saleId, r.data.at);
    },
  });

  return {
    async find(id: string): Promise<Sale> {
      let s = known.get(id);
      if (!s) {
        [s] = await d.db.select().from(sales).where(eq(sales.id, id));
        if (!s) throw new AppError("NOT_FOUND", "no such sale");
        known.set(id, s);
      }
      return s;
    },

    isSoldOut,

    /** Redis said no unit is left, answering a purchase sent at `askedAt`: flag it here and on every other edge process. */
    soldOut(saleId: string, askedAt: number) {
      if (isSoldOut(saleId)) return;
      flag(saleId, askedAt);
      d.bus.nc.publish(SALE_SOLD_OUT, JSON.stringify({ saleId, at: askedAt }));
    },

    /**
     * A purchase's answer from memory, when it is bound to lose. A keyed purchase of a sold-out or ended sale
     * may be the retry of one that won: it goes on like any purchase (token, bucket) to the gate, whose one call
     * answers a replay with its first order.
     */
    purchaseShortcut(saleId: string, keyed: boolean): AppError | undefined {
      const now = Date.now();
      const s = known.get(saleId);
      if (s && now < s.startsAt.getTime())
        return new AppError("NOT_STARTED", `the sale starts at ${s.startsAt.toISOString()}`);
      if (keyed) return;
      if (s && ended(s, now)) return ENDED;
      if (isSoldOut(saleId)) return SOLD_OUT;
    },
  };
}
export type SaleBoard = ReturnType<typeof saleBoard>;
