// The two pages in headless Chromium against the whole stack: the ops console follows a sale's remaining
// units as purchases arrive, without a reload; a shopper signs in on the sale page, double-clicks buy and sees
// CONFIRMED, having bought one unit; a dead letter replayed from the console; sold out, limit reached and the
// countdown on the server's clock; and no script error on any page. With SCREENSHOTS=<dir> it also saves the
// pages' pictures there (docs/ holds them).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Browser, Page } from "puppeteer-core";
import { envelope } from "../nats";
import { launchBrowser, watchErrors } from "./browser";
import { client, eventually } from "./client";
import { admin, fileDeadLetter, stack } from "./harness";

/** What the tests use of the page's globals, in functions that run in the page (the project type-checks without the DOM library). */
type El = {
  textContent: string | null;
  hidden: boolean;
  disabled: boolean;
  dataset: Record<string, string | undefined>;
  click(): void;
};
type InPage = {
  document: { querySelector(s: string): El | null; querySelectorAll(s: string): Iterable<El> };
  MutationObserver: new (cb: () => void) => { observe(el: unknown, o: object): void };
  stayed?: boolean;
  seen: string[];
};

let api: ReturnType<typeof client>;
let nc: NatsConnection;
let base: string;
let browser: Browser;
let adminToken: string;
let seller: Awaited<ReturnType<typeof api.user>>;
const shots = process.env.SCREENSHOTS;

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

async function newSale(o: {
  quantity: number;
  startsInS?: number;
  perUserLimit?: number;
  name?: string;
  price?: number;
}) {
  const p = await api.call("POST", "/v1/products", {
    token: seller.token,
    body: { name: o.name ?? "Test product", price: 39_000, stock: o.quantity },
  });
  expect(p.status).toBe(201);
  const s = await api.call("POST", "/v1/sales", {
    token: adminToken,
    body: {
      productId: p.body.id,
      price: o.price ?? 19_900,
      quantity: o.quantity,
      perUserLimit: o.perUserLimit ?? 1,
      startsAt: inSeconds(o.startsInS ?? -1),
    },
  });
  expect(s.status).toBe(201);
  return s.body.id as string;
}

async function buy(saleId: string, n: number) {
  const shoppers = await Promise.all(Array.from({ length: n }, () => api.user()));
  const answers = await Promise.all(
    shoppers.map((u) => api.call("POST", `/v1/sales/${saleId}/purchase`, { token: u.token, body: {} })),
  );
  for (const a of answers) expect(a.status).toBe(202);
  return answers.map((a, i) => ({ token: shoppers[i]!.token, orderId: a.body.orderId as string }));
}

/** Buys a one-unit sale's unit until an order of it is confirmed (a payment given up on returns the unit). */
async function sellOut(saleId: string) {
  for (let i = 0; i < 10; i++) {
    const u = await api.user();
    const r = await api.call("POST", `/v1/sales/${saleId}/purchase`, { token: u.token, body: {} });
    // SOLD_OUT: a cancelled order's unit is on its way back to the gate
    if (r.status === 202 && (await api.settled(u.token, r.body.orderId)).status === "CONFIRMED") return;
    await Bun.sleep(300);
  }
  throw new Error("no purchase of the sale was confirmed");
}

async function signIn(page: Page, email: string, password: string) {
  await page.type("input[name=email]", email);
  await page.type("input[name=password]", password);
  await page.click("button[type=submit]");
}

/** The text of `sel`, once `ok` holds for it. */
async function textWhen(page: Page, sel: string, ok: string, timeout = 20_000) {
  try {
    await page.waitForFunction(
      (sel, ok) =>
        new RegExp(ok).test((globalThis as unknown as InPage).document.querySelector(sel)?.textContent ?? ""),
      { timeout },
      sel,
      ok,
    );
  } catch (err) {
    const [text, connection] = await page.evaluate(
      (sel) => [
        (globalThis as unknown as InPage).document.querySelector(sel)?.textContent,
        (globalThis as unknown as InPage).document.querySelector("[data-field=connection]")?.textContent,
      ],
      sel,
    );
    throw new Error(
      `${sel} never matched /${ok}/ (last text: ${JSON.stringify(text)}, connection: ${JSON.stringify(connection)}): ${err}`,
    );
  }
  return page.$eval(sel, (el) => el.textContent ?? "");
}

/** Waits until the console shows the remaining units the gate has (GET /v1/sales/:id), below the quantity; returns them. */
async function shownAsGate(
  page: Page,
  sel: string,
  saleId: string,
  quantity: number,
  timeout = 20_000,
): Promise<number> {
  const until = Date.now() + timeout;
  for (;;) {
    const gate = (await api.call("GET", `/v1/sales/${saleId}`)).body.remaining as number;
    const shown = await page.$eval(sel, (el) => el.textContent);
    if (shown === `${gate} / ${quantity}`) return gate;
    if (Date.now() > until) throw new Error(`the console shows ${shown}, the gate has ${gate}`);
    await Bun.sleep(100);
  }
}

const mark = (page: Page) =>
  page.evaluate(() => {
    (globalThis as unknown as InPage).stayed = true;
  });
const stayed = (page: Page) => page.evaluate(() => (globalThis as unknown as InPage).stayed === true);

beforeAll(async () => {
  const s = await stack();
  base = s.edgeUrl;
  api = client(base);
  adminToken = await api.login(admin.email, admin.password);
  seller = await api.user("seller");
  browser = await launchBrowser();
  nc = await connect({ servers: s.env.NATS_URL });
  if (shots) mkdirSync(shots, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await nc?.close();
});

describe("GET /ops", () => {
  test("the admin signs in and sees a sale's remaining units fall as purchases arrive, without a reload", async () => {
    const saleId = await newSale({ quantity: 30, name: "Ops console sneakers" });
    const page = await browser.newPage();
    const watched = watchErrors(page);
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(`${base}/ops`);
    await signIn(page, admin.email, admin.password);
    const remaining = `[data-sale-id="${saleId}"] [data-field="remaining"]`;
    expect(await textWhen(page, remaining, "^30 / 30$")).toBe("30 / 30");
    await mark(page);

    // every change the page shows, as it shows it
    await page.$eval(remaining, (el) => {
      const seen: string[] = [];
      (globalThis as unknown as InPage).seen = seen;
      new (globalThis as unknown as InPage).MutationObserver(() => seen.push(el.textContent ?? "")).observe(el, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    // (a payment the test stack's short deadline gives up on returns its unit: the gate's count is the truth)
    await buy(saleId, 5);
    const first = await shownAsGate(page, remaining, saleId, 30);
    expect(first).toBeLessThan(30);
    await buy(saleId, 7);
    const second = await shownAsGate(page, remaining, saleId, 30);
    expect(second).toBeLessThan(first);
    const seen = await page.evaluate(() => (globalThis as unknown as InPage).seen);
    expect(seen).toEqual(expect.arrayContaining([`${first} / 30`, `${second} / 30`]));
    expect(await stayed(page)).toBe(true);

    // the rest of the console fills in from the same feed
    const card = `[data-sale-id="${saleId}"]`;
    await textWhen(page, `${card} [data-field="settled"]`, "^12 \\(\\d+ / \\d+\\)$");
    await textWhen(page, `${card} [data-field="audit"]`, "noOversell");
    await textWhen(page, "#breakers", "payment_gateway: closed");
    await textWhen(page, "[data-field=degraded]", "^\\d{1,3}(,\\d{3})*$"); // (earlier tests of the run may have made Redis slow)
    await textWhen(page, "[data-field=answers-now]", "answers in the last second");
    expect(await page.$("#chart canvas")).not.toBeNull();
    expect(await page.$eval("[data-field=dlq-count]", (el) => el.textContent)).toMatch(/^\d+$/);
    if (shots) {
      // for the picture: a few seconds of the traffic a sale page sees (reads, and shoppers over their limit)
      const bought = await buy(saleId, 2);
      for (let i = 0; i < 40; i++) {
        await Promise.all([
          api.call("GET", `/v1/sales/${saleId}`),
          api.call("GET", `/v1/sales/${saleId}`),
          ...bought.map((b) => api.call("POST", `/v1/sales/${saleId}/purchase`, { token: b.token, body: {} })),
        ]);
        await Bun.sleep(150);
      }
      await Bun.sleep(1500);
      await page.screenshot({ path: join(shots, "ops.png"), fullPage: true });
    }
    expect(watched.errors).toEqual([]);
    expect(watched.answers.filter((a) => a.status >= 500)).toEqual([]);
    await page.close();
  }, 90_000);

  test("a dead letter is listed with its error, and its Replay button sends it back: the order it names is cancelled", async () => {
    const shopper = await api.user();
    const product = await api.product(seller.token, 1000, 5);
    const placed = await api.call("POST", "/v1/orders", {
      token: shopper.token,
      body: { items: [{ productId: product.id, quantity: 1 }] },
    });
    const orderId = placed.body.orderId as string;
    expect((await api.settled(shopper.token, orderId)).status).toBe("CONFIRMED");
    // a cancel that ran out of deliveries, filed as the workers file it
    const env = envelope("orders.cmd.cancel", { orderId });
    // the error names the order: the list shows errors
    await fileDeadLetter(jetstream(nc), env, { consumer: "order", error: `console test: no answer for ${orderId}` });

    const page = await browser.newPage();
    const watched = watchErrors(page);
    await page.goto(`${base}/ops`);
    await signIn(page, admin.email, admin.password);
    const listed = (id: string) =>
      [...(globalThis as unknown as InPage).document.querySelectorAll("#dlq li")].some((li) =>
        li.textContent?.includes(id),
      );
    await page.waitForFunction(listed, { timeout: 20_000 }, orderId);
    const letterId = await page.$$eval(
      "#dlq li",
      (lis, id) => (lis as unknown as El[]).find((li) => li.textContent?.includes(id))?.dataset.letterId,
      orderId,
    );
    const letter = `#dlq li[data-letter-id="${letterId}"]`;
    const text = await page.$eval(letter, (li) => li.textContent ?? "");
    expect(text).toContain("orders.cmd.cancel");
    expect(text).toContain(`console test: no answer for ${orderId}`);
    await page.click(`${letter} button[data-action=replay]`);
    expect(await textWhen(page, `${letter} button[data-action=replay]`, "^Replayed$")).toBe("Replayed");
    await eventually(
      async () => (await api.settled(shopper.token, orderId)).status === "CANCELLED" || undefined,
      15_000,
      "the replayed cancel",
    );
    // the letter leaves the list with the next round of the feed
    const gone = (id: string) =>
      ![...(globalThis as unknown as InPage).document.querySelectorAll("#dlq li")].some((li) =>
        li.textContent?.includes(id),
      );
    await page.waitForFunction(gone, { timeout: 20_000 }, orderId);
    expect(watched.errors).toEqual([]);
    await page.close();
  }, 90_000);

  test("a shopper signing in is told the console is for admins, and sees none of it", async () => {
    const shopper = await api.user();
    const page = await browser.newPage();
    const watched = watchErrors(page);
    await page.goto(`${base}/ops`);
    await signIn(page, shopper.email, shopper.password);
    expect(await textWhen(page, "[data-field=login-error]", "admins")).toContain("for admins");
    expect(await page.$eval("#console", (el) => (el as unknown as El).hidden)).toBe(true);
    expect(watched.errors).toEqual([]);
    await page.close();
  });
});

describe("GET /shop/sales/:id", () => {
  test("a shopper signs in, double-clicks buy, sees CONFIRMED without a reload, and has bought one unit", async () => {
    const saleId = await newSale({ quantity: 20, perUserLimit: 2, name: "Limited edition keyboard", price: 129_000 });
    const shopper = await api.user();
    const page = await browser.newPage();
    const watched = watchErrors(page);
    await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 1 });
    await page.goto(`${base}/shop/sales/${saleId}`);
    expect(await page.$eval("[data-field=product-name]", (el) => el.textContent)).toBe("Limited edition keyboard");
    expect(await page.$eval("[data-field=price]", (el) => el.textContent)).toBe("129,000 KRW");
    await textWhen(page, "[data-field=remaining]", "^20$");
    await mark(page);
    await signIn(page, shopper.email, shopper.password);
    await page.waitForSelector("[data-action=buy]:not([disabled])");

    await page.click("[data-action=buy]", { count: 2, delay: 0 });
    expect(await textWhen(page, "[data-field=order-status]", "^CONFIRMED$")).toBe("CONFIRMED");
    expect(await stayed(page)).toBe(true);
    const orders = await api.call("GET", "/v1/orders", { token: shopper.token });
    expect(
      orders.body.items.map((o: { status: string; items: { quantity: number }[] }) => [
        o.status,
        o.items.map((i) => i.quantity),
      ]),
    ).toEqual([["CONFIRMED", [1]]]);
    await textWhen(page, "[data-field=remaining]", "^19$");
    if (shots) await page.screenshot({ path: join(shots, "shop.png"), fullPage: true });

    // two clicks in one go are still one purchase (the page takes the second while the first is under way)
    const firstOrder = await page.$eval("[data-field=order-status]", (el) => (el as unknown as El).dataset.orderId);
    await page.$eval("[data-action=buy]", (b) => {
      (b as unknown as El).click();
      (b as unknown as El).click();
    });
    await page.waitForFunction(
      (first) => {
        const el = (globalThis as unknown as InPage).document.querySelector("[data-field=order-status]")!;
        return el.dataset.orderId !== first && el.textContent === "CONFIRMED";
      },
      { timeout: 20_000 },
      firstOrder,
    );
    await textWhen(page, "[data-field=remaining]", "^18$");
    const after = await api.call("GET", "/v1/orders", { token: shopper.token });
    expect(after.body.items.map((o: { status: string }) => o.status)).toEqual(["CONFIRMED", "CONFIRMED"]);

    // the limit of 2 is reached: said as such
    await page.waitForSelector("[data-action=buy]:not([disabled])");
    await page.click("[data-action=buy]");
    expect(await textWhen(page, "[data-field=notice]", "Limit reached")).toBe("Limit reached: at most 2 per shopper.");
    expect(await stayed(page)).toBe(true);
    expect(watched.errors).toEqual([]);
    // the only refusals: the limit, and the order stream asked for before the saga wrote its order
    for (const a of watched.answers)
      expect((a.status === 409 && a.url.endsWith("/purchase")) || (a.status === 404 && a.url.endsWith("/events"))).toBe(
        true,
      );
    await page.close();
  }, 90_000);

  test("an answer lost on the network: the next click sends the same Idempotency-Key and gets the same order", async () => {
    const saleId = await newSale({ quantity: 5, perUserLimit: 2 });
    const shopper = await api.user();
    const page = await browser.newPage();
    const watched = watchErrors(page);
    const keys: string[] = [];
    let firstOrder: string | undefined;
    await page.setRequestInterception(true);
    page.on("request", (req) => {
      if (req.method() !== "POST" || !req.url().endsWith(`/v1/sales/${saleId}/purchase`)) return void req.continue();
      keys.push(req.headers()["idempotency-key"] ?? "");
      if (keys.length > 1) return void req.continue();
      // the first purchase reaches the edge, and its answer is lost on the way back
      void fetch(req.url(), { method: "POST", headers: req.headers(), body: req.postData() }).then(async (r) => {
        firstOrder = ((await r.json()) as { orderId: string }).orderId;
        await req.abort("failed");
      });
    });
    await page.goto(`${base}/shop/sales/${saleId}`);
    await signIn(page, shopper.email, shopper.password);
    await page.waitForSelector("[data-action=buy]:not([disabled])");
    await page.click("[data-action=buy]");
    await page.waitForFunction(
      () => !!(globalThis as unknown as InPage).document.querySelector("[data-field=notice]")!.textContent,
      { timeout: 20_000 },
    );
    await page.waitForSelector("[data-action=buy]:not([disabled])");
    await page.click("[data-action=buy]");
    expect(await textWhen(page, "[data-field=order-status]", "^CONFIRMED$")).toBe("CONFIRMED");
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]!);
    expect(firstOrder).toBeDefined();
    expect(await page.$eval("[data-field=order-status]", (el) => (el as unknown as El).dataset.orderId)).toBe(
      firstOrder,
    );
    const orders = await api.call("GET", "/v1/orders", { token: shopper.token });
    expect(orders.body.items.map((o: { id: string }) => o.id)).toEqual([firstOrder]);
    expect(watched.errors).toEqual([]);
    await page.close();
  }, 90_000);

  test("a sold-out sale says so, and its buy button cannot be pressed", async () => {
    const saleId = await newSale({ quantity: 1 });
    await sellOut(saleId);
    const shopper = await api.user();
    const page = await browser.newPage();
    const watched = watchErrors(page);
    await page.goto(`${base}/shop/sales/${saleId}`);
    await signIn(page, shopper.email, shopper.password);
    expect(await textWhen(page, "[data-action=buy]", "^Sold out$")).toBe("Sold out");
    expect(await page.$eval("[data-action=buy]", (b) => (b as unknown as El).disabled)).toBe(true);
    expect(await page.$eval("[data-field=sale-status]", (el) => el.textContent)).toBe("Sold out");
    expect(await page.$eval("[data-field=remaining]", (el) => el.textContent)).toBe("0");
    expect(watched.errors).toEqual([]);
    await page.close();
  });

  test("the countdown runs on the server's clock, not the browser's, and the sale opens when it ends", async () => {
    const saleId = await newSale({ quantity: 5, startsInS: 3 });
    const shopper = await api.user();
    const page = await browser.newPage();
    const watched = watchErrors(page);
    // the browser's clock two hours ahead: on its own clock the sale would have started long ago
    await page.evaluateOnNewDocument(() => {
      const skew = 2 * 3600_000;
      const now = Date.now.bind(Date);
      Date.now = () => now() + skew;
    });
    await page.goto(`${base}/shop/sales/${saleId}`);
    expect(await textWhen(page, "[data-field=countdown]", "^Starts in 0:0[1-3]$")).toMatch(/^Starts in 0:0[1-3]$/);
    expect(await page.$eval("[data-field=sale-status]", (el) => el.textContent)).toBe("Starts soon");
    await signIn(page, shopper.email, shopper.password);
    expect(await page.$eval("[data-action=buy]", (b) => (b as unknown as El).disabled)).toBe(true);
    await page.waitForSelector("[data-action=buy]:not([disabled])", { timeout: 10_000 });
    expect(await page.$eval("[data-field=sale-status]", (el) => el.textContent)).toBe("On sale now");
    expect(watched.errors).toEqual([]);
    await page.close();
  });
});

describe("assets", () => {
  test("served by the edge with a content hash in the name, cached for a year, revalidated by ETag", async () => {
    const html = await (await fetch(`${base}/ops`)).text();
    const names = [...html.matchAll(/\/assets\/([\w.-]+)/g)].map((m) => m[1]!);
    expect(names.length).toBe(2);
    for (const name of names) {
      const r = await fetch(`${base}/assets/${name}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(r.headers.get("content-type")).toMatch(name.endsWith(".css") ? /^text\/css/ : /^text\/javascript/);
      const again = await fetch(`${base}/assets/${name}`, { headers: { "if-none-match": r.headers.get("etag")! } });
      expect(again.status).toBe(304);
    }
    const missing = await fetch(`${base}/assets/nothing-here.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toStartWith("application/problem+json");
    const page = await fetch(`${base}/ops`);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("cache-control")).toBe("no-cache");
  });
});
