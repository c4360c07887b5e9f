// For tests of what reaches the logs: the lines written while a function runs, and the kind of error
// that used to leak (drizzle's failed query, whose message lists every parameter).
import { DrizzleQueryError } from "drizzle-orm/errors";

export const HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
export const EMAIL = "victim@example.com";

export async function captured(fn: () => unknown): Promise<string> {
  const out: string[] = [];
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = process.stderr.write = ((chunk: string) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    [process.stdout.write, process.stderr.write] = [stdout, stderr];
  }
  return out.join("");
}

/** What drizzle throws when Postgres refuses a signup's insert (a NUL in the name). */
export function failedInsert() {
  const cause = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: "22021" });
  return new DrizzleQueryError(
    'insert into "identity"."users" ("id", "email", "password_hash", "name") values ($1, $2, $3, $4)',
    ["0193", EMAIL, HASH, "a\0b"],
    cause,
  );
}
