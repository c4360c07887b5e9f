// Server-Sent Events over fetch: EventSource cannot send an Authorization header, and the access token stays in
// memory (never in a URL). Reconnects with a growing pause and Last-Event-ID, asking for a fresh token each time.

export type SseEvent = { event: string; data: string; id?: string };

/** The text/event-stream parser: feed it chunks as they come, it returns the events they completed. */
export function sseParser() {
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  return (chunk: string): SseEvent[] => {
    buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (data.length)
          out.push({ event: event || "message", data: data.join("\n"), ...(id !== undefined ? { id } : {}) });
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    return out;
  };
}

export type FollowOptions = {
  /** The bearer token for each (re)connection; undefined for a public stream. */
  token?: () => Promise<string | undefined>;
  onEvent: (e: SseEvent) => void;
  /** "open" once connected, "retrying" while waiting to reconnect, "closed" for good. */
  onState?: (state: "open" | "retrying" | "closed", why?: string) => void;
  /** Answers that end the stream for good instead of a retry (e.g. 404, 403). */
  fatal?: (status: number) => boolean;
};

const MAX_PAUSE_MS = 10_000;

export function follow(url: string, o: FollowOptions): { close(): void } {
  let closed = false;
  let ctl: AbortController | undefined;
  let lastId: string | undefined;
  let pause = 500;

  const run = async () => {
    while (!closed) {
      ctl = new AbortController();
      let why = "disconnected";
      try {
        const token = await o.token?.();
        const headers: Record<string, string> = { accept: "text/event-stream" };
        if (token) headers.authorization = `Bearer ${token}`;
        if (lastId !== undefined) headers["last-event-id"] = lastId;
        const res = await fetch(url, { headers, signal: ctl.signal });
        if (!res.ok || !res.body) {
          if (o.fatal?.(res.status)) {
            closed = true;
            o.onState?.("closed", `HTTP ${res.status}`);
            return;
          }
          throw new Error(`HTTP ${res.status}`);
        }
        o.onState?.("open");
        pause = 500;
        const parse = sseParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of parse(value)) {
            if (e.id !== undefined) lastId = e.id;
            try {
              o.onEvent(e);
            } catch (err) {
              // the page's own fault, not the connection's: reported as an uncaught error, and the stream goes on
              setTimeout(() => {
                throw err;
              });
            }
            if (closed) return;
          }
        }
      } catch (err) {
        if (closed) return;
        why = err instanceof Error ? err.message : String(err);
      }
      if (closed) return;
      o.onState?.("retrying", why);
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(MAX_PAUSE_MS, pause * 2);
    }
  };
  void run();
  return {
    close() {
      if (closed) return;
      closed = true;
      ctl?.abort();
      o.onState?.("closed");
    },
  };
}
