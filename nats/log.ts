// Structured logs, one JSON object per line, with the process label and trace id when known.
const level = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof level;
/** For the config modules' LOG_LEVEL. */
export const LOG_LEVELS = Object.keys(level) as [Level, ...Level[]];

export type Fields = Record<string, unknown>;

// Redaction by rule, applied to every line whatever its fields: a log is read by more people than a database
// and kept longer. Fields named like a secret lose their value at any depth; query parameters (a failed
// query's `params`, postgres.js's `parameters`) go too, since they hold whatever the query wrote (password
// hashes, emails, tokens); and hashes or tokens that reach free text are cut out of it.
const SECRET_FIELD =
  /passw(or)?d|passphrase|hash|secret|token|authorization|cookie|signature|^(params|parameters|args)$/i;
const SECRET_TEXT = [
  /\$argon2(id|i|d)\$[^\s"',]*/g, // a password hash
  /\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, // a JWT
  /\bbearer\s+[\w.~+/-]+=*/gi,
];
// drizzle's DrizzleQueryError puts every parameter in its message, after the query
const QUERY_PARAMS = /\nparams: [^\n]*/g;
const REDACTED = "[redacted]";

function scrub(text: string): string {
  let out = text.replace(QUERY_PARAMS, `\nparams: ${REDACTED}`);
  for (const re of SECRET_TEXT) out = out.replace(re, REDACTED);
  return out;
}

/**
 * An error as a log field: what went wrong and where, its plain own fields (a code, a status) and its cause,
 * never its parameters; objects it holds are left out (they may be large, circular or full of data).
 */
function errorFields(e: Error): Fields {
  const out: Fields = { name: e.name, message: scrub(e.message), stack: e.stack && scrub(e.stack) };
  for (const [k, v] of Object.entries(e)) if (!(k in out) && (v === null || typeof v !== "object")) out[k] = v;
  if (e.cause instanceof Error || (e.cause !== undefined && typeof e.cause !== "object")) out.cause = e.cause;
  return out;
}

function redact(key: string, v: unknown): unknown {
  if (key && SECRET_FIELD.test(key)) return REDACTED;
  if (typeof v === "string") return scrub(v);
  return v instanceof Error ? errorFields(v) : v;
}

function write(lvl: Level, msg: string, fields: Fields) {
  const line = JSON.stringify({ t: new Date().toISOString(), level: lvl, msg, ...fields }, redact);
  (lvl === "error" || lvl === "warn" ? process.stderr : process.stdout).write(`${line}\n`);
}

export type Logger = { [L in Level]: (msg: string, fields?: Fields) => void } & { child(f: Fields): Logger };

/** A logger writing `minLevel` and above (the process's LOG_LEVEL, from its config); its children inherit it. */
export function logger(base: Fields = {}, minLevel: Level = "info"): Logger {
  const l = {} as Logger;
  const min = level[minLevel];
  // a level below the minimum costs one comparison, not the fields' copy
  for (const lvl of Object.keys(level) as Level[])
    l[lvl] = level[lvl] < min ? () => {} : (msg, f = {}) => write(lvl, msg, { ...base, ...f });
  l.child = (f) => logger({ ...base, ...f }, minLevel);
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
