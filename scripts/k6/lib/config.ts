// The scenarios' settings, from k6's __ENV (or a test's object), parsed once with readable errors.

export type Env = Record<string, string | undefined>;

function num(env: Env, name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  const v = Number(name === "DURATION" ? raw.replace(/s$/, "") : raw);
  if (!Number.isFinite(v) || v < min || v > max)
    throw new Error(`${name}=${raw}: expected a number from ${min} to ${max}`);
  return v;
}

function common(env: Env, d: { shoppers: number; quantity: number }) {
  return {
    baseUrl: (env.BASE_URL ?? "http://127.0.0.1:3000").replace(/\/$/, ""),
    admin: { email: env.ADMIN_EMAIL ?? "admin@example.com", password: env.ADMIN_PASSWORD ?? "Adm1n!pass" },
    shoppers: num(env, "SHOPPERS", d.shoppers, 1, 100_000),
    /** units of the sale, or coupons to give out, when the scenario makes them */
    quantity: num(env, "QUANTITY", d.quantity, 1, 1_000_000),
    /** requests in flight during setup (each signup and login costs the edge a password hash) */
    batch: num(env, "SETUP_BATCH", 20, 1, 500),
    duplicateShare: num(env, "DUPLICATE_SHARE", 0.3, 0, 1),
    declineShare: num(env, "DECLINE_SHARE", 0.2, 0, 1),
    /** seconds at the peak (after the 1 s ramp), or at the steady rate */
    durationS: num(env, "DURATION", 10, 1, 3600),
    p95Ms: num(env, "P95_MS", 500, 1),
    maxErrorRate: num(env, "MAX_ERROR_RATE", 0.01, 0, 1),
    /** how long teardown waits for the system to settle before it checks what it kept */
    settleWaitS: num(env, "SETTLE_WAIT", 60, 0, 3600),
    /** where handleSummary also writes k6's full summary data as JSON (nothing when empty) */
    summaryJson: env.SUMMARY_JSON ?? "",
  };
}

export function spikeConfig(env: Env) {
  return {
    ...common(env, { shoppers: 200, quantity: 500 }),
    saleId: env.SALE_ID ?? "",
    /** purchase arrivals per second at the peak */
    peak: num(env, "PEAK", 1000, 1),
    perUserLimit: num(env, "PER_USER_LIMIT", 1, 1, 1000),
  };
}

export function couponConfig(env: Env) {
  return {
    ...common(env, { shoppers: 200, quantity: 100 }),
    couponId: env.COUPON_ID ?? "",
    peak: num(env, "PEAK", 1000, 1),
  };
}

export function browseConfig(env: Env) {
  return {
    ...common(env, { shoppers: 50, quantity: 100 }),
    saleId: env.SALE_ID ?? "",
    /** iterations per second (one read, or one walk down the product list) */
    rate: num(env, "RATE", 200, 1),
    products: num(env, "PRODUCTS", 12, 1, 1000),
    pageSize: num(env, "PAGE_SIZE", 5, 1, 100),
    pages: num(env, "PAGES", 3, 1, 100),
  };
}

export type Common = ReturnType<typeof common>;
export type SpikeConfig = ReturnType<typeof spikeConfig>;
export type CouponConfig = ReturnType<typeof couponConfig>;
export type BrowseConfig = ReturnType<typeof browseConfig>;
