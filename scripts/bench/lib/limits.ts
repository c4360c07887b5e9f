// The machine's own ceilings, measured in the same run as a benchmark so its figures can be quoted as ratios:
// a bare Bun server under wrk, the sale gate's Lua on raw Redis, raw JetStream acked publishes, naive
// one-message saga transactions (inbox + snapshot + outbox) on Postgres, and the order pipeline's messaging alone.

import { setPriority } from "node:os";
import { join } from "node:path";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import postgres from "postgres";
import { gate } from "../../../domain/sale";
import { jetstreamOf, publishEnvelope, uuidv7 } from "../../../nats";
import { cpuOf } from "./cpu";
import { type WrkResult, wrk } from "./wrk";

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** `processes` bare Bun.serve processes on one port (reusePort), answering `answer` (JS source; "ok" by default). */
export async function serveBare(processes: number, answer = `new Response("ok")`) {
  const port = freePort();
  const procs = Array.from({ length: processes }, () =>
    Bun.spawn(
      [
        process.execPath,
        "-e",
        `Bun.serve({ hostname: "127.0.0.1", port: ${port}, reusePort: true, fetch: () => ${answer} })`,
      ],
      { stdout: "ignore", stderr: "inherit" },
    ),
  );
  for (
    let i = 0;
    i < 100 &&
    !(await fetch(`http://127.0.0.1:${port}/`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  )
    await Bun.sleep(50);
  await Bun.sleep(200); // every process listening, not only the first
  return {
    url: `http://127.0.0.1:${port}/`,
    pids: procs.map((p) => p.pid),
    async stop() {
      for (const p of procs) p.kill();
      await Promise.all(procs.map((p) => p.exited));
    },
  };
}

/** Bare Bun.serve processes answering "ok", as many as the edge's, driven by wrk with the same settings (and script). */
export async function bareBun(o: {
  threads: number;
  connections: number;
  seconds: number;
  processes: number;
  script?: string;
  args?: string[];
}): Promise<WrkResult> {
  const bare = await serveBare(o.processes);
  try {
    return await wrk({ url: bare.url, ...o });
  } finally {
    await bare.stop();
  }
}

/** Runs `op` with `inFlight` calls outstanding for `seconds`; returns completed calls per second. */
async function saturate(seconds: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let i = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await op(i++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** A scratch sale's gate that never sells out and never ends within a bench (expires in 10 minutes). */
export const endlessSale = () => ({
  remaining: 1e9,
  limit: 1e9,
  quantity: 1e9,
  startsAt: 0,
  endsAt: 0,
  expireAt: Date.now() + 600_000,
  seq: 0,
  users: {},
  holds: {},
  idem: {},
});

/** The purchase script on a scratch sale that never sells out: admitted purchases per second. */
export async function gateLua(redisUrl: string, seconds: number): Promise<number> {
  const redis = new Redis(redisUrl);
  const g = gate(redis);
  const saleId = uuidv7();
  await g.load(saleId, endlessSale());
  try {
    return await saturate(seconds, 256, (i) =>
      g.purchase({ saleId, userId: `u${i % 10_000}`, qty: 1, orderId: uuidv7(), itemId: uuidv7() }),
    );
  } finally {
    await redis.del(
      ...[`sale:{${saleId}}`, `sale:{${saleId}}:users`, `sale:{${saleId}}:holds`, `sale:{${saleId}}:idem`],
    );
    redis.disconnect();
  }
}

/** Acked JetStream publishes of 256-byte messages with a message id, 1000 in flight, to a scratch stream. */
export async function jetstreamPublish(natsUrl: string, seconds: number): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const name = `BENCH_${process.pid}`;
  await jsm.streams.add({ name, subjects: [`bench${process.pid}.>`], duplicate_window: 120_000_000_000 });
  const js = jetstream(nc);
  const payload = new Uint8Array(256).fill(120);
  try {
    return await saturate(seconds, 1000, () => js.publish(`bench${process.pid}.x`, payload, { msgID: uuidv7() }));
  } finally {
    await jsm.streams.delete(name);
    await nc.close();
  }
}

/** One message per transaction: inbox insert, saga snapshot upsert, outbox insert (8 clients). */
export async function naiveSagaTx(databaseUrl: string, seconds: number, clients = 8): Promise<number> {
  const sql = postgres(databaseUrl, { max: clients, onnotice: () => {} });
  const snapshot = {
    status: "active",
    value: "charging",
    context: { items: [{ quantity: 1, price: 5000 }], note: "x".repeat(600) },
  };
  const consumer = `bench-${process.pid}`;
  try {
    return await saturate(seconds, clients, async () => {
      const orderId = uuidv7();
      await sql.begin(async (tx) => {
        await tx`insert into messaging.inbox (consumer, message_id) values (${consumer}, ${uuidv7()})`;
        await tx`insert into ordering.sagas (order_id, state, snapshot) values (${orderId}, 'charging', ${tx.json(snapshot)})
                 on conflict (order_id) do update set snapshot = excluded.snapshot, state = excluded.state, updated_at = now()`;
        // marked sent: the stack's outbox relays must not pick these rows up
        await tx`insert into messaging.outbox (id, subject, envelope, headers, sent_at) values (${uuidv7()}, 'bench', ${tx.json({ orderId })}, ${tx.json({})}, now())`;
      });
    });
  } finally {
    await sql`delete from messaging.inbox where consumer = ${consumer}`;
    await sql`delete from messaging.outbox where subject = 'bench'`;
    await sql`delete from ordering.sagas where state = 'charging' and not exists (select 1 from ordering.orders o where o.id = order_id)`;
    await sql.end();
  }
}

/**
 * The order pipeline's messaging alone: for each order the six acked publishes and seven deliveries a
 * confirmed order takes (place, reserve, reserved, charge, approved, confirmed; confirmed is read by
 * notification and popularity: the cart follows in the order worker's transaction; the payment settles from
 * the gateway's answer to its charge), moved through a scratch
 * stream by one process per actor kind the way the actors move them (durable pull consumers, batches, publish
 * then ack), with no database, HTTP or decisions in between.
 * Returns orders per second from the first publish until the last delivery is acked, and the CPU per order
 * (ms) of the hop processes and of the NATS server (`natsPids`) over the same span.
 */
export async function messagingFloor(
  natsUrl: string,
  orders: number,
  o: { nice?: number; natsPids?: number[]; timeoutS?: number; batchSize: number },
): Promise<{ ordersPerS: number; cpuMsPerOrder: { hops: number; nats: number } }> {
  const timeoutS = o.timeoutS ?? 120;
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const stream = `FLOOR_${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], duplicate_window: 120_000_000_000 });
  // consumer (durable) -> the subject it reads
  const reads: Record<string, string> = {
    place: "place",
    reserve: "reserve",
    reserved: "reserved",
    charge: "charge",
    approved: "approved",
    notify: "confirmed",
    popular: "confirmed",
  };
  for (const [durable, subject] of Object.entries(reads))
    await jsm.consumers.add(stream, {
      durable_name: durable,
      filter_subject: `${stream}.${subject}`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30_000_000_000,
      max_ack_pending: 20_000,
    });
  const kinds = {
    order: "place:reserve,reserved:charge,approved:confirmed",
    inventory: "reserve:reserved",
    payment: "charge:approved",
    notification: "notify",
    popularity: "popular",
  };
  const procs = Object.values(kinds).map((hops) =>
    Bun.spawn([process.execPath, join(import.meta.dir, "relay-hop.ts"), natsUrl, stream, hops, String(o.batchSize)], {
      stdout: "inherit",
      stderr: "inherit",
    }),
  );
  // at the actors' priority, as the actors they stand in for (a machine shared with others gives both the same share)
  for (const p of procs) setPriority(p.pid, o.nice ?? 0);
  const js = jetstreamOf(nc);
  try {
    await Bun.sleep(1000); // the hop processes subscribe
    const hopPids = procs.map((p) => p.pid);
    const cpu0 = { hops: cpuOf(hopPids), nats: cpuOf(o.natsPids ?? []) };
    const started = performance.now();
    let next = 0;
    const place = (id: string) =>
      ({
        id: `place:${id}`,
        type: `${stream}.place`,
        occurredAt: new Date().toISOString(),
        orderId: id,
        data: { note: "x".repeat(300) },
      }) as never;
    await Promise.all(
      Array.from({ length: 512 }, async () => {
        for (let i = next++; i < orders; i = next++) await publishEnvelope(js, place(uuidv7()));
      }),
    );
    const deadline = started + timeoutS * 1000;
    for (;;) {
      const done = await Promise.all(Object.keys(reads).map((d) => jsm.consumers.info(stream, d)));
      if (
        done.every((c) => c.num_ack_pending === 0 && c.num_pending === 0 && c.delivered.stream_seq > 0) &&
        ["notify", "popular"].every((n) => done.find((c) => c.name === n)!.ack_floor.consumer_seq === orders)
      ) {
        const perOrder = (seconds: number) => Math.round((seconds * 1e6) / orders) / 1000;
        return {
          ordersPerS: orders / ((performance.now() - started) / 1000),
          cpuMsPerOrder: {
            hops: perOrder(cpuOf(hopPids) - cpu0.hops),
            nats: perOrder(cpuOf(o.natsPids ?? []) - cpu0.nats),
          },
        };
      }
      if (performance.now() > deadline) throw new Error(`messaging floor: not done within ${timeoutS} s`);
      await Bun.sleep(50);
    }
  } finally {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    await jsm.streams.delete(stream);
    await nc.close();
  }
}
