// Dead letters (admin): list the DLQ stream, and replay one to its original subject with its original
// envelope. The consumers' inbox makes a replay of something already handled a no-op; a replayed letter
// is deleted from the DLQ so it is listed (and replayed) once.
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { Hono } from "hono";
import { z } from "zod";
import { dlqSubject, jetstreamManagerOf, readLetter, replayHeaders, DLQ_STREAM as STREAM } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { requireRole } from "../middleware/auth";
import { openapi } from "../openapi";

/** Sequence numbers looked at for one page at most: deleted (replayed) letters leave gaps. */
const MAX_SCAN = 1000;

export const dlqQuery = z.object({
  /** The last id of the previous page. */
  cursor: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
const seqParam = z.coerce.number().int().positive();

export const deadLetter = z.object({
  id: z.number().int().describe("the letter's sequence in the DLQ stream"),
  subject: z.string().describe("where the message was published"),
  consumer: z.string(),
  deliveries: z.number().int(),
  error: z.string(),
  at: z.string().describe("when it was dead-lettered"),
  messageId: z.string().optional(),
  orderId: z.string().optional(),
});
export const deadLetterPage = z.object({ items: z.array(deadLetter), nextCursor: z.number().int().nullable() });
export const replayed = z.object({ id: z.number().int(), subject: z.string(), messageId: z.string().optional() });

/** Letters filed by one consumer (each worker files under `dlq.<durable>`), oldest first, at most `max`. */
export async function* lettersOf(jsm: JetStreamManager, durable: string, max = 10_000): AsyncGenerator<StoredMsg> {
  for (let seq = 1, n = 0; n < max; n++) {
    // the server's next-by-subject lookup (the client's type only names the direct API's)
    const m = await jsm.streams.getMessage(STREAM, { seq, next_by_subj: dlqSubject(durable) } as unknown as {
      seq: number;
    });
    if (!m) return;
    yield m;
    seq = m.seq + 1;
  }
}

export function letterOf(m: StoredMsg): z.infer<typeof deadLetter> {
  let env: { id?: unknown; orderId?: unknown } = {};
  try {
    env = m.json();
  } catch {} // a message that was not even JSON is listed too
  return {
    id: m.seq,
    ...readLetter(m.header, m.subject),
    at: m.time.toISOString(),
    ...(typeof env.id === "string" ? { messageId: env.id } : {}),
    ...(typeof env.orderId === "string" ? { orderId: env.orderId } : {}),
  };
}

const letterAt = (jsm: JetStreamManager, seq: number) => jsm.streams.getMessage(STREAM, { seq }).catch(() => null);

/** A page of dead letters after `cursor`, and how many the DLQ holds (the route's answer, also the ops feed's). */
export async function deadLetters(jsm: JetStreamManager, q: z.infer<typeof dlqQuery>) {
  const { state } = await jsm.streams.info(STREAM);
  const items: z.infer<typeof deadLetter>[] = [];
  let seq = Math.max((q.cursor ?? 0) + 1, state.first_seq);
  const end = Math.min(state.last_seq, seq + MAX_SCAN - 1);
  for (; seq <= end && items.length < q.limit; seq++) {
    const m = await letterAt(jsm, seq);
    if (m) items.push(letterOf(m));
  }
  // more may follow when the page is full, or when the scan stopped before the stream's end
  const more = seq <= state.last_seq;
  return { items, nextCursor: more ? seq - 1 : null, total: state.messages, lastSeq: state.last_seq };
}

export function dlqRoutes(d: Deps) {
  const app = new Hono<Env>();
  const manager = () => jetstreamManagerOf(d.bus.nc);
  const get = async (seq: number) => letterAt(await manager(), seq);

  app.get(
    "/v1/ops/dlq",
    requireRole("admin"),
    openapi({
      summary: "Dead letters, oldest first",
      tags: ["ops"],
      query: dlqQuery,
      responses: { 200: deadLetterPage },
    }),
    async (c) => {
      const { items, nextCursor } = await deadLetters(await manager(), c.req.valid("query"));
      return c.json({ items, nextCursor });
    },
  );

  app.post(
    "/v1/ops/dlq/:id/replay",
    requireRole("admin"),
    openapi({
      summary: "Replay a dead letter to its original subject, with its original envelope and headers",
      description: "The letter leaves the DLQ. The consumers' inbox makes a message that was already handled a no-op.",
      tags: ["ops"],
      params: { id: seqParam },
      responses: { 200: replayed },
    }),
    async (c) => {
      const seq = seqParam.safeParse(c.req.param("id"));
      const m = seq.success ? await get(seq.data) : null;
      if (!m) throw new AppError("NOT_FOUND", "no such dead letter");
      const letter = letterOf(m);
      const h = replayHeaders(m.header);
      // a fresh message id (the original may still be inside the duplicate window); a second replay of
      // the same letter has the same one, so JetStream drops it
      await d.bus.js.publish(letter.subject, m.data, { headers: h, msgID: `replay:${STREAM}:${m.seq}` });
      await (await manager()).streams.deleteMessage(STREAM, m.seq, false).catch(() => false);
      c.get("log").info("dead letter replayed", { id: m.seq, subject: letter.subject, messageId: letter.messageId });
      return c.json({
        id: m.seq,
        subject: letter.subject,
        ...(letter.messageId ? { messageId: letter.messageId } : {}),
      });
    },
  );

  return app;
}
