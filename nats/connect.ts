import {
  type JetStreamClient,
  type JetStreamManager,
  type JetStreamOptions,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { connect, createInbox, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { contracts, type Data, type Subject } from "./contracts";
import { type Envelope, envelope, toHeaders } from "./envelope";
import { ensureStreams } from "./streams";

export type Bus = { nc: NatsConnection; js: JetStreamClient };

/** NATS_URL: one server or several of a cluster, comma-separated; the client moves to another when one is lost. */
export const natsServers = (url: string) =>
  url
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export async function connectBus(
  url: string,
  name: string,
  opts: { ensure?: boolean; replicas?: number } = {},
): Promise<Bus> {
  const nc = await connect({ servers: natsServers(url), name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  if (opts.ensure) await ensureStreams(await jetstreamManager(nc), { replicas: opts.replicas });
  return { nc, js: jetstreamOf(nc, { timeout: JS_API_TIMEOUT_MS }) };
}

/** The connection of each JetStream client made here: the library's client type does not expose it. */
const connections = new WeakMap<JetStreamClient, NatsConnection>();

/** A JetStream client over `nc` that publishEnvelope() can publish through (on the connection's publisher). */
export function jetstreamOf(nc: NatsConnection, opts?: JetStreamOptions): JetStreamClient {
  const js = jetstream(nc, opts);
  connections.set(js, nc);
  return js;
}

const managers = new WeakMap<NatsConnection, Promise<JetStreamManager>>();

/**
 * The connection's JetStream manager, made once (making one asks JetStream for the account's info). An attempt
 * that fails (no answer while a cluster node is lost, JetStream not there yet) is not kept: the next call tries
 * again, where a kept rejection would refuse every later call of the process at once.
 */
export function jetstreamManagerOf(nc: NatsConnection): Promise<JetStreamManager> {
  let made = managers.get(nc);
  if (!made) {
    const attempt = jetstreamManager(nc);
    made = attempt;
    managers.set(nc, attempt);
    attempt.catch(() => {
      if (managers.get(nc) === attempt) managers.delete(nc);
    });
  }
  return made;
}

/**
 * Publishes one envelope and waits for JetStream's ack; the envelope id is the Nats-Msg-Id. A publish left
 * unanswered (its server lost, a stream electing its leader after a node's loss) is sent again while a whole
 * attempt still fits in PUBLISH_BUDGET_MS (and before `until`): the duplicate window keeps one copy. A refusal
 * is final, and so is an ack that comes after `until` (the message may be stored, but the publish does not count).
 */
export async function publishEnvelope(
  js: JetStreamClient,
  env: Envelope,
  traceparent?: string,
  until = Number.POSITIVE_INFINITY,
): Promise<void> {
  const data = JSON.stringify(env);
  const headers = toHeaders(env.id, traceparent);
  const end = Math.min(Date.now() + PUBLISH_BUDGET_MS, until);
  for (let attempt = 1; ; attempt++) {
    try {
      await publisherOf(js)(env.type, data, headers);
      if (Date.now() > until) throw new Error(`acked past the publish's deadline (${new Date(until).toISOString()})`);
      return;
    } catch (err) {
      const pause = Math.min(PUBLISH_RETRY_PAUSE_MS * attempt, 1_000);
      if (!(err instanceof Unanswered) || Date.now() + pause + PUBLISH_TIMEOUT_MS > end) throw err;
      await Bun.sleep(pause);
    }
  }
}

/** No answer (as opposed to a refusal): worth sending again under the same message id. */
class Unanswered extends Error {}

type Publisher = (subject: string, data: string, headers: MsgHdrs) => Promise<void>;
const publishers = new WeakMap<NatsConnection, Publisher>();
/** One attempt's wait for its ack, and all the attempts' (within the edge's request deadline). */
const PUBLISH_TIMEOUT_MS = 2_500;
const PUBLISH_BUDGET_MS = 8_000;
const PUBLISH_RETRY_PAUSE_MS = 250;
/** The JetStream client's own calls (stream and consumer lookups). */
const JS_API_TIMEOUT_MS = 10_000;
/** JetStream's "system temporarily unavailable" (JSClusterNotAvailErr). */
const JS_CLUSTER_NOT_AVAILABLE = 10008;

/** The publisher of the client's connection. */
function publisherOf(js: JetStreamClient): Publisher {
  const nc = connections.get(js);
  if (!nc) throw new Error("publish through a JetStream client made by jetstreamOf() (or connectBus)");
  let p = publishers.get(nc);
  if (!p) {
    p = acked(nc);
    publishers.set(nc, p);
  }
  return p;
}

/**
 * Acked JetStream publishes as JetStream's asynchronous publishers make them: one wildcard reply subscription
 * per connection and a table of the publishes waiting for their PubAck, where js.publish makes a request per
 * message (its own timer and error objects) and costs about three times the CPU. A publish is refused when the
 * stream refuses it (its error), when no stream takes the subject (503), or after PUBLISH_TIMEOUT_MS.
 */
function acked(nc: NatsConnection): Publisher {
  const prefix = createInbox();
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void; until: number }>();
  let seq = 0;
  let sweeper: Timer | undefined;
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const sub = nc.subscribe(`${prefix}.*`, {
    callback: (err, m) => {
      if (err) {
        // the reply subscription is gone: refuse what waits, and let the next publish start afresh
        publishers.delete(nc);
        sub.unsubscribe();
        return failAll(err);
      }
      const token = m.subject.slice(prefix.length + 1);
      const w = waiting.get(token);
      if (!w) return; // answered after its timeout
      waiting.delete(token);
      try {
        // on one server nothing takes the subject; in a cluster its stream may be electing a leader for now
        if (m.headers?.code === 503)
          return w.reject(
            nc.info?.cluster
              ? new Unanswered("no stream takes this subject (for now?)")
              : new Error("no stream takes this subject"),
          );
        const ack = m.json<{ stream?: string; error?: { err_code?: number; description?: string } }>();
        // a clustered stream without a quorum for now answers "temporarily unavailable": as good as no answer
        if (ack.error?.err_code === JS_CLUSTER_NOT_AVAILABLE)
          w.reject(new Unanswered(`JetStream unavailable: ${ack.error.description}`));
        else if (ack.error || !ack.stream)
          w.reject(new Error(`JetStream refused the publish: ${ack.error?.description ?? "no ack"}`));
        else w.resolve();
      } catch (e) {
        w.reject(new Error(`unreadable JetStream ack: ${String(e)}`)); // never thrown into the connection's reader
      }
    },
  });
  void nc.closed().then(() => failAll(new Error("the NATS connection closed")));
  const sweep = () => {
    const now = Date.now();
    for (const [token, w] of waiting)
      if (w.until <= now) {
        waiting.delete(token);
        w.reject(new Unanswered(`no JetStream ack within ${PUBLISH_TIMEOUT_MS} ms`));
      }
    if (!waiting.size) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  return (subject, data, headers) =>
    new Promise<void>((resolve, reject) => {
      const token = (seq++).toString(36);
      waiting.set(token, { resolve, reject, until: Date.now() + PUBLISH_TIMEOUT_MS });
      sweeper ??= setInterval(sweep, 250);
      try {
        nc.publish(subject, data, { headers, reply: `${prefix}.${token}` });
      } catch (err) {
        waiting.delete(token);
        reject(err as Error);
      }
    });
}

/** Builds, validates and publishes a message in one step. */
export async function publish<S extends Subject>(
  js: JetStreamClient,
  type: S,
  data: Data<S>,
  opts: { id?: string; traceparent?: string; until?: number } = {},
): Promise<Envelope<S>> {
  const env = envelope(type, contracts[type].parse(data) as Data<S>, opts.id);
  await publishEnvelope(js, env, opts.traceparent, opts.until);
  return env;
}
