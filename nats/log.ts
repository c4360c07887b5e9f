// Structured logs, one JSON object per line, with the process label and trace id when known.
const level = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof level;
const min = level[(process.env.LOG_LEVEL as Level) ?? "info"] ?? level.info;

export type Fields = Record<string, unknown>;

function write(lvl: Level, msg: string, fields: Fields) {
  const line = JSON.stringify({ t: new Date().toISOString(), level: lvl, msg, ...fields }, (_k, v) =>
    v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v,
  );
  (lvl === "error" || lvl === "warn" ? process.stderr : process.stdout).write(line + "\n");
}

export type Logger = { [L in Level]: (msg: string, fields?: Fields) => void } & { child(f: Fields): Logger };

export function logger(base: Fields = {}): Logger {
  const l = {} as Logger;
  // a level below the minimum costs one comparison, not the fields' copy
  for (const lvl of Object.keys(level) as Level[]) l[lvl] = level[lvl] < min ? () => {} : (msg, f = {}) => write(lvl, msg, { ...base, ...f });
  l.child = (f) => logger({ ...base, ...f });
  return l;
}

export function newTraceparent(traceId?: string): string {
  const hex = (n: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString("hex");
  return `00-${traceId ?? hex(16)}-${hex(8)}-01`;
}

export function traceIdOf(traceparent: string | undefined | null): string | undefined {
  const m = traceparent?.match(/^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/);
  return m?.[1];
}
