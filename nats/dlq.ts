// A dead letter: the original message (data and headers) filed under `dlq.<durable>` in the DLQ stream, with
// where it came from and why in `Dlq-*` headers. Written by the workers, read and replayed by the edge's ops.
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import { headerRecord } from "./envelope";

export const DLQ_STREAM = "DLQ";
export const dlqSubject = (durable: string) => `dlq.${durable}`;
/** The letter's message id is its consumer and stream sequence: the worker and the mover never file it twice. */
export const letterMsgId = (durable: string, seq: number) => `dlq:${durable}:${seq}`;

export type LetterFacts = { subject: string; consumer: string; deliveries: number; error: string };

const PREFIX = "Dlq-";
const H = {
  subject: "Dlq-Subject",
  consumer: "Dlq-Consumer",
  deliveries: "Dlq-Deliveries",
  error: "Dlq-Error",
} as const;

/** The original headers (but its message id) and the letter's own. */
export function letterHeaders(
  original: MsgHdrs | undefined,
  l: { subject: string; consumer: string; deliveries: number },
  err: unknown,
): MsgHdrs {
  const out = headers();
  for (const [k, v] of Object.entries(headerRecord(original))) if (k !== "Nats-Msg-Id") out.set(k, v);
  out.set(H.subject, l.subject);
  out.set(H.consumer, l.consumer);
  out.set(H.deliveries, String(l.deliveries));
  out.set(
    H.error,
    String(err instanceof Error ? err.message : err)
      .replace(/[\r\n]+/g, " ")
      .slice(0, 1000),
  );
  return out;
}

/** What a letter's headers say; `subject` falls back to the letter's own when the header is missing. */
export function readLetter(h: MsgHdrs | undefined, fallbackSubject: string): LetterFacts {
  const r = headerRecord(h);
  return {
    subject: r[H.subject] ?? fallbackSubject,
    consumer: r[H.consumer] ?? "",
    deliveries: Number(r[H.deliveries] ?? 0),
    error: r[H.error] ?? "",
  };
}

/** The headers to replay a letter with: the original's, without the letter's and without the old message id. */
export function replayHeaders(h: MsgHdrs | undefined): MsgHdrs {
  const out = headers();
  for (const [k, v] of Object.entries(headerRecord(h))) if (!k.startsWith(PREFIX) && k !== "Nats-Msg-Id") out.set(k, v);
  return out;
}
