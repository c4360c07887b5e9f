// Password hashes: argon2id at OWASP's minimum (m=19 MiB, t=2, p=1), about 4x faster than Bun's default
// (m=64 MiB) and still memory-hard. Hashes made with other parameters keep verifying (they carry their own)
// and are re-hashed at their next login when the edge has a slot free.
export const ARGON2 = { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 } as const;

export const hashPassword = (password: string) => Bun.password.hash(password, ARGON2);

export const verifyPassword = (password: string, hash: string) => Bun.password.verify(password, hash);

/** True when the hash was made with other parameters than today's. */
export function needsRehash(hash: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
  return !m || Number(m[1]) !== ARGON2.memoryCost || Number(m[2]) !== ARGON2.timeCost || m[3] !== "1";
}
