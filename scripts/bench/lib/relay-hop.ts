// One process of the saga bench's messaging floor: consumes its hops' subjects from a scratch stream the way
// an actor does (durable pull consumer, batches), and for each message publishes the next hop's message
// (acked, with a message id, through the actors' own publisher) and then acks it. No database, no HTTP,
// no decisions: only the moving.
// `bun scripts/bench/lib/relay-hop.ts <nats url> <stream> <hop:next,...> <batch size>`; a hop without next only
// acks. The batch size is the actors' (BATCH_SIZE), and so is the pull: twice a batch.
import type { JsMsg } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type Envelope, jetstreamOf, publishEnvelope } from "../../../nats";

const [url, stream, spec, batch] = process.argv.slice(2) as [string, string, string, string];
const batchSize = Number(batch);
const nc = await connect({ servers: url });
const js = jetstreamOf(nc);
const hops = spec.split(",").map((h) => h.split(":") as [string, string | undefined]);

for (const [hop, next] of hops) {
  const consumer = await js.consumers.get(stream, hop);
  const queue: JsMsg[] = [];
  let wake: (() => void) | undefined;
  await consumer.consume({
    max_messages: batchSize * 2,
    callback: (m) => {
      queue.push(m);
      wake?.();
    },
  });
  void (async () => {
    for (;;) {
      if (!queue.length) await new Promise<void>((r) => (wake = r));
      const taken = queue.splice(0, batchSize);
      if (next)
        await Promise.all(
          taken.map((m) => {
            const body = m.json<Envelope>();
            return publishEnvelope(
              js,
              { ...body, id: `${next}:${body.id}`, type: `${stream}.${next}` } as Envelope,
              m.headers?.get("traceparent"),
            );
          }),
        );
      for (const m of taken) m.ack();
    }
  })();
}
process.on("SIGTERM", () => void nc.close().then(() => process.exit(0)));
