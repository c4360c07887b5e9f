// Signing keys: the newest Ed25519 key signs; every listed key verifies (rotation). In development a key
// pair is generated on first start into KEYS_DIR; in production the keys come from the environment.
import { linkSync, mkdirSync, renameSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

export type KeyRing = {
  kid: string;
  privateKey: CryptoKey;
  /** Public keys by kid, the signing key's included. */
  verifiers: Map<string, CryptoKey>;
  jwks: { keys: JWK[] };
};

/** A stored key: the JWK plus when it started signing (ms), kept only in the private key file. */
type StoredKey = JWK & { createdAt?: number };

export async function newPrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "EdDSA", use: "sig" };
}

const publicPart = ({ d: _d, createdAt: _c, ...pub }: StoredKey): JWK => pub;

export async function keyRing(signing: JWK, extraPublic: JWK[] = []): Promise<KeyRing> {
  if (!signing.kid || !signing.d) throw new Error("the signing JWK needs a private part (d) and a kid");
  const all = [publicPart(signing), ...extraPublic.map(publicPart)];
  const verifiers = new Map<string, CryptoKey>();
  for (const jwk of all) {
    if (!jwk.kid) throw new Error("every verification JWK needs a kid");
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519")
      throw new Error(`key ${jwk.kid}: only Ed25519 (OKP) keys verify here`);
    verifiers.set(jwk.kid, (await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey);
  }
  return {
    kid: signing.kid,
    privateKey: (await importJWK({ ...publicPart(signing), d: signing.d, alg: "EdDSA" }, "EdDSA")) as CryptoKey,
    verifiers,
    jwks: { keys: all.map((k) => ({ ...k, alg: "EdDSA", use: "sig" })) },
  };
}

/**
 * Development keys: KEYS_DIR/jwks.json holds private JWKs, newest last. The newest signs; a key that was
 * replaced still verifies for `retainS` after its replacement started signing (set it to the access-token
 * lifetime, so no token it signed dies early), and at least `keep` keys stay. `rotate` appends a new key
 * (see scripts/rotate-keys.ts).
 */
export async function devKeyRing(
  dir: string,
  opts: { rotate?: boolean; keep?: number; retainS?: number } = {},
): Promise<KeyRing> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "jwks.json");
  const read = async (): Promise<StoredKey[]> =>
    (await Bun.file(path).exists()) ? ((await Bun.file(path).json()) as { keys: StoredKey[] }).keys : [];
  // written aside, then put in place in one step: no process ever reads half a file
  const aside = async (keys: StoredKey[]) => {
    const tmp = join(dir, `jwks.json.${process.pid}.${crypto.randomUUID()}`);
    await Bun.write(tmp, JSON.stringify({ keys }, null, 2), { mode: 0o600 });
    return tmp;
  };
  let keys = await read();
  if (!keys.length && !opts.rotate) {
    // several edge processes start at once on an empty folder: the first key linked in place wins, the
    // others read it (a link fails when the name exists), so every process signs and verifies with one key
    const tmp = await aside([{ ...(await newPrivateJwk()), createdAt: Date.now() }]);
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      unlinkSync(tmp);
    }
    keys = await read();
  }
  if (opts.rotate) {
    const now = Date.now();
    keys = [...keys, { ...(await newPrivateJwk()), createdAt: now }];
    const keep = opts.keep ?? 2;
    const retainMs = (opts.retainS ?? 0) * 1000;
    // key i verifies tokens until retainMs after key i+1 started signing
    keys = keys.filter((_, i) => i >= keys.length - keep || now - (keys[i + 1]?.createdAt ?? 0) < retainMs);
    renameSync(await aside(keys), path);
  }
  const signing = keys.at(-1)!;
  return keyRing(signing, keys.slice(0, -1));
}
