// The sale page (/shop/sales/:id): countdown on the server's clock, remaining units live from the sale's event
// stream, sign-in, a buy button whose Idempotency-Key makes a double click one purchase, then the order's
// status from its event stream until it is CONFIRMED or CANCELLED.

import type { CancelReason } from "../../../nats/contracts";
import { saleStatus } from "../../sales/status";
import { $, clock, loginForm, setText } from "./dom";
import { ApiError, session } from "./session";
import { follow } from "./sse";

// every reason the contract knows (a reason added there without words here fails the type check)
const REASONS: Record<CancelReason, string> = {
  OUT_OF_STOCK: "the last units went to other buyers",
  PAYMENT_DECLINED: "the payment was declined",
  PAYMENT_TIMEOUT: "the payment got no answer in time",
  COUPON_INVALID: "the coupon could not be used",
  CANCELLED_BY_USER: "you cancelled it",
  LIMIT_REACHED: "you had already bought as many as one shopper may",
  DUPLICATE_PURCHASE: "this purchase had already been made",
};
const REFUSALS: Record<string, (limit: number) => string> = {
  SOLD_OUT: () => "Sold out: every unit has been taken.",
  LIMIT_REACHED: (limit) => `Limit reached: at most ${limit} per shopper.`,
  NOT_STARTED: () => "The sale has not started yet.",
  ENDED: () => "The sale has ended.",
  FORBIDDEN: () => "Only shoppers can buy: sign in with a shopper's account.",
  RATE_LIMITED: () => "Too many requests: wait a moment and try again.",
};

const main = $("main");
const saleId = main.dataset.saleId!;
const limit = Number(main.dataset.perUserLimit);
const startsAt = Date.parse(main.dataset.startsAt!);
const endsAt = main.dataset.endsAt ? Date.parse(main.dataset.endsAt) : undefined;
let offset = Number(main.dataset.serverNow) - Date.now();
const now = () => Date.now() + offset;

const s = session();
const buy = $<HTMLButtonElement>("[data-action=buy]");
const logout = $<HTMLButtonElement>("[data-action=logout]");
const form = $<HTMLFormElement>("form.login");
const who = $("[data-field=who]");
const notice = $("[data-field=notice]");
const orderStatus = $("[data-field=order-status]");

let remaining: number | undefined = main.dataset.remaining ? Number(main.dataset.remaining) : undefined;
/** One key per intent to buy: kept until an answer settles it, so a retry or a second click is the same purchase. */
let key = newKey();
let inFlight = false;
let refused: string | undefined;
let order: { close(): void } | undefined;

function newKey(): string {
  // crypto.randomUUID needs a secure context; a phone on the local network may load the page over plain http
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const status = () => saleStatus({ startsAt, endsAt }, remaining, now());

function render() {
  const st = status();
  main.dataset.status = st;
  setText(
    $("[data-field=sale-status]"),
    { scheduled: "Starts soon", live: "On sale now", sold_out: "Sold out", ended: "Ended" }[st] ?? st,
  );
  setText($("[data-field=countdown]"), st === "scheduled" ? `Starts in ${clock((startsAt - now()) / 1000)}` : "");
  if (remaining !== undefined) setText($("[data-field=remaining]"), remaining.toLocaleString("en-US"));
  const signedIn = !!s.user;
  buy.disabled = !signedIn || inFlight || st !== "live";
  setText(
    buy,
    !signedIn
      ? "Sign in to buy"
      : st === "sold_out"
        ? "Sold out"
        : st === "ended"
          ? "Ended"
          : st === "scheduled"
            ? "Not started"
            : inFlight
              ? "Buying…"
              : refused === "LIMIT_REACHED"
                ? "Limit reached"
                : "Buy now",
  );
  form.hidden = signedIn;
  logout.hidden = !signedIn;
  setText(who, s.user ? `Signed in as ${s.user.email}` : "");
}

// the sale as the API sees it (a gate Redis has lost is rebuilt by this read), then its changes as they come
fetch(`/v1/sales/${saleId}`)
  .then((r) => (r.ok ? r.json() : undefined))
  .then((sale?: { remaining: number }) => {
    if (sale && !streamed) remaining = sale.remaining;
  })
  .catch(() => {}); // the stream below says the same a moment later
let streamed = false;
follow(`/v1/sales/${saleId}/events`, {
  onEvent(e) {
    if (e.event !== "sale") return;
    const d = JSON.parse(e.data) as { remaining: number; now: string };
    offset = Date.parse(d.now) - Date.now();
    remaining = d.remaining;
    streamed = true;
    render();
  },
  fatal: (st) => st === 400 || st === 404,
});
setInterval(render, 250);

function showOrder(orderId: string, st: string, reason?: string) {
  orderStatus.dataset.orderId = orderId;
  orderStatus.dataset.status = st;
  setText(
    orderStatus,
    st === "CANCELLED"
      ? `CANCELLED: ${REASONS[reason as CancelReason] ?? reason ?? "cancelled"}`
      : st === "PENDING"
        ? "PENDING: paying…"
        : st,
  );
}

function followOrder(orderId: string) {
  order?.close();
  showOrder(orderId, "PENDING");
  const stream = follow(`/v1/orders/${orderId}/events`, {
    token: s.token,
    onEvent(e) {
      if (e.event !== "status") return;
      const d = JSON.parse(e.data) as { status: string; reason?: string };
      showOrder(orderId, d.status, d.reason);
      if (d.status !== "PENDING") {
        // settled: the next click is a new purchase
        stream.close();
        key = newKey();
      }
    },
    // the order row is written by the saga a moment after the 202: a first 404 is retried
    fatal: (st) => st === 401 || st === 403,
  });
  order = stream;
}

buy.addEventListener("click", async () => {
  if (inFlight || !s.user) return;
  inFlight = true;
  refused = undefined;
  setText(notice, "");
  render();
  try {
    const r = await s.call<{ orderId: string }>("POST", `/v1/sales/${saleId}/purchase`, {
      body: { quantity: 1 },
      headers: { "idempotency-key": key },
    });
    followOrder(r.orderId);
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError(0, "NETWORK", String(err));
    // a definite refusal settles the intent; a network failure or a 5xx may be retried with the same key
    if (e.status >= 400 && e.status < 500) key = newKey();
    refused = e.code;
    setText(notice, REFUSALS[e.code]?.(limit) ?? `${e.message} (${e.code})`);
    notice.dataset.code = e.code;
  } finally {
    inFlight = false;
    render();
  }
});

loginForm(form, async (email, password) => void (await s.login(email, password)));
logout.addEventListener("click", () => void s.logout());
s.onChange(() => {
  if (!s.user) order?.close();
  render();
});
render();
