// Streams and durable consumers, declared once and ensured idempotently at start.
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";

const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;
const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

export const streams = {
  ORDERS: ["orders.>"],
  INVENTORY: ["inventory.>"],
  PAYMENTS: ["payments.>"],
  COUPONS: ["coupons.>"],
  CATALOG: ["catalog.>"],
  DLQ: ["dlq.>"],
} as const;
export type StreamName = keyof typeof streams;

/** Deliveries before a message goes to the DLQ, and the ack wait that bounds one attempt. */
export const MAX_DELIVER = 6;
export const ACK_WAIT_MS = 30_000;

export type ConsumerSpec = { stream: StreamName; durable: string; filter: string };

/** Every subscription in the system, in one place. */
export const consumers = {
  order: [
    { stream: "ORDERS", durable: "order", filter: "orders.cmd.>" },
    { stream: "INVENTORY", durable: "order", filter: "inventory.evt.>" },
    { stream: "PAYMENTS", durable: "order", filter: "payments.evt.>" },
    { stream: "COUPONS", durable: "order", filter: "coupons.evt.>" },
  ],
  inventory: [{ stream: "INVENTORY", durable: "inventory", filter: "inventory.cmd.>" }],
  payment: [{ stream: "PAYMENTS", durable: "payment", filter: "payments.cmd.>" }],
  notification: [{ stream: "ORDERS", durable: "notification", filter: "orders.evt.>" }],
  // claims, redemptions and restores (carts follow their order in the order worker's transaction)
  coupon: [{ stream: "COUPONS", durable: "coupon", filter: "coupons.cmd.>" }],
  // flash-sale units given back by the saga return to the Redis gate
  gate: [{ stream: "INVENTORY", durable: "gate", filter: "inventory.evt.released" }],
  // the Redis popularity ranking, from likes and from orders confirmed (or cancelled after confirmation)
  popularity: [
    { stream: "CATALOG", durable: "popularity", filter: "catalog.evt.>" },
    { stream: "ORDERS", durable: "popularity", filter: "orders.evt.>" },
  ],
} as const satisfies Record<string, readonly ConsumerSpec[]>;
export type ConsumerKind = keyof typeof consumers;

/** Durable consumers no process reads any more: removed at start, so no message waits for them. */
const retired = [{ stream: "ORDERS", durable: "cart" }] as const;

/** Whether `lookup` finds it; only the library's not-found answer means no, any other failure is thrown. */
async function exists(lookup: Promise<unknown>, notFound: number): Promise<boolean> {
  try {
    await lookup;
    return true;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === notFound) return false;
    throw err;
  }
}

/** `replicas`: copies of each stream (3 on a NATS cluster, 1 on one server); its consumers have as many. */
export async function ensureStreams(jsm: JetStreamManager, o: { replicas?: number } = {}): Promise<void> {
  const replicas = o.replicas ?? 1;
  for (const [name, subjects] of Object.entries(streams)) {
    const config = {
      name,
      subjects: [...subjects],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: DUPLICATE_WINDOW_NS,
      max_age: name === "DLQ" ? 30 * DAY_NS : 7 * DAY_NS,
      num_replicas: replicas,
    };
    if (await exists(jsm.streams.info(name), JetStreamApiCodes.StreamNotFound)) await jsm.streams.update(name, config);
    else await jsm.streams.add(config);
  }
  for (const r of retired)
    if (await exists(jsm.consumers.info(r.stream, r.durable), JetStreamApiCodes.ConsumerNotFound))
      await jsm.consumers.delete(r.stream, r.durable);
  for (const specs of Object.values(consumers)) {
    for (const c of specs) {
      const config = {
        durable_name: c.durable,
        filter_subject: c.filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: ACK_WAIT_MS * 1_000_000,
        max_deliver: MAX_DELIVER,
        max_ack_pending: 20_000,
      };
      if (await exists(jsm.consumers.info(c.stream, c.durable), JetStreamApiCodes.ConsumerNotFound))
        await jsm.consumers.update(c.stream, c.durable, config);
      else await jsm.consumers.add(c.stream, config);
    }
  }
}
