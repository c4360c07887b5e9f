// A sale's status from its times and what remains: one rule for the API, the ops feed and the sale page's
// script (which counts down on the server's clock and turns live by itself).
export type SaleStatus = "scheduled" | "live" | "sold_out" | "ended";

/** `remaining` unknown (undefined or null) is not sold out. Times in ms since the epoch. */
export function saleStatus(
  times: { startsAt: number; endsAt?: number | null },
  remaining: number | null | undefined,
  now: number,
): SaleStatus {
  if (now < times.startsAt) return "scheduled";
  if (times.endsAt != null && now >= times.endsAt) return "ended";
  return remaining != null && remaining <= 0 ? "sold_out" : "live";
}
