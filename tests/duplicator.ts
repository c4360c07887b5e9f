// Publishes a second copy of every message on the given subjects the moment it is published, carrying the
// same envelope (so the same envelope id) under a new Nats-Msg-Id, so JetStream keeps both.
import { jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";

export async function duplicateEverything(nc: NatsConnection, subjects: string[]): Promise<{ copies: () => number }> {
  const js = jetstream(nc);
  let copies = 0;
  for (const subject of subjects)
    nc.subscribe(subject, {
      callback: (_err, m) => {
        const id = m.headers?.get("Nats-Msg-Id");
        if (!id || m.headers!.get("X-Copy")) return;
        const h = headers();
        h.set("X-Copy", "1");
        copies++;
        js.publish(m.subject, m.data, { headers: h, msgID: `copy:${id}` }).catch(() => {}); // the connection may close first
      },
    });
  await nc.flush();
  return { copies: () => copies };
}
