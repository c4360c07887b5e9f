// The envelope every message travels in, and its NATS headers (Nats-Msg-Id = envelope id, W3C traceparent).
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";
import { contracts, type Data, isSubject, type Subject } from "./contracts";
import { newTraceparent } from "./log";
import { uuidv7 } from "./uuid";

export type Envelope<S extends Subject = Subject> = {
  id: string;
  type: S;
  occurredAt: string;
  orderId?: string;
  data: Data<S>;
};

export function envelope<S extends Subject>(type: S, data: Data<S>, id: string = uuidv7()): Envelope<S> {
  const orderId = (data as { orderId?: string }).orderId;
  return { id, type, occurredAt: new Date().toISOString(), ...(orderId ? { orderId } : {}), data };
}

export class BadMessage extends Error {}

/** Parses and validates a received envelope; throws BadMessage (never retried) when it does not fit its contract. */
export function parseEnvelope(subject: string, raw: unknown): Envelope {
  if (!isSubject(subject)) throw new BadMessage(`unknown subject ${subject}`);
  const env = raw as Envelope;
  if (!env || typeof env.id !== "string") throw new BadMessage("envelope without id");
  const data = contracts[subject].safeParse(env.data);
  if (!data.success) {
    const issues = data.error.issues.map((i) => `${i.path.join(".") || "data"}: ${i.message}`);
    throw new BadMessage(`${subject}: ${issues.join("; ")}`);
  }
  return { ...env, type: subject, data: data.data } as Envelope;
}

export function toHeaders(msgId: string, traceparent = newTraceparent()): MsgHdrs {
  const h = natsHeaders();
  h.set("Nats-Msg-Id", msgId);
  h.set("traceparent", traceparent);
  return h;
}

export function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of h) out[k] = v.join(",");
  return out;
}
