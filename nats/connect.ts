import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { contracts, type Data, type Subject } from "./contracts";
import { envelope, toHeaders, type Envelope } from "./envelope";
import { ensureStreams } from "./streams";

export type Bus = { nc: NatsConnection; js: JetStreamClient };

export async function connectBus(url: string, name: string, opts: { ensure?: boolean } = {}): Promise<Bus> {
  const nc = await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  if (opts.ensure) await ensureStreams(await jetstreamManager(nc));
  return { nc, js: jetstream(nc, { timeout: 10_000 }) };
}

/** Publishes one envelope and waits for JetStream's ack; the envelope id is the Nats-Msg-Id. */
export async function publishEnvelope(js: JetStreamClient, env: Envelope, traceparent?: string): Promise<void> {
  await js.publish(env.type, JSON.stringify(env), { msgID: env.id, headers: toHeaders(env.id, traceparent) });
}

/** Builds, validates and publishes a message in one step. */
export async function publish<S extends Subject>(
  js: JetStreamClient,
  type: S,
  data: Data<S>,
  opts: { id?: string; traceparent?: string } = {},
): Promise<Envelope<S>> {
  const env = envelope(type, contracts[type].parse(data) as Data<S>, opts.id);
  await publishEnvelope(js, env, opts.traceparent);
  return env;
}
