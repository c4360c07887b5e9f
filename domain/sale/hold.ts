// The formats the sale gate keeps in Redis, spelled once on this side of the scripts (lua.ts writes and reads
// the same layouts):
//   holds:  orderId -> "state|userId|qty|atMs|idemField|itemId", state P (placed), S (seen in Postgres),
//           A (being given up by the sweeper), R (released)
//   idem:   idemField -> "orderId|itemId|requestHash"
// where idemField is "userId:<Idempotency-Key, URI-encoded>": a key may hold "|", which would split a hold.

export type HoldState = "P" | "S" | "A" | "R";
export type Hold = {
  orderId: string;
  state: HoldState;
  userId: string;
  qty: number;
  at: number;
  idem: string;
  itemId: string;
};

/** A purchase's key in the sale's idempotency hash. */
export const idemField = (userId: string, key: string) => `${userId}:${encodeURIComponent(key)}`;

export const encodeHold = (h: Omit<Hold, "orderId">) => `${h.state}|${h.userId}|${h.qty}|${h.at}|${h.idem}|${h.itemId}`;

export function decodeHold(orderId: string, value: string): Hold {
  const [state, userId, qty, at, idem, itemId] = value.split("|");
  return {
    orderId,
    state: state as HoldState,
    userId: userId!,
    qty: Number(qty),
    at: Number(at),
    idem: idem ?? "",
    itemId: itemId ?? "",
  };
}

export const encodeIdem = (v: { orderId: string; itemId: string; requestHash: string }) =>
  `${v.orderId}|${v.itemId}|${v.requestHash}`;
