// Signing keys: the newest Ed25519 key signs; every listed key verifies (rotation). In development a key
// pair is generated on first start into KEYS_DIR; in production the keys come from the environment.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";

export type KeyRing = {
  kid: string;
  privateKey: CryptoKey;
  /** Public keys by kid, the signing key's included. */
  verifiers: Map<string, CryptoKey>;
  jwks: { keys: JWK[] };
};

export async function newPrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "EdDSA", use: "sig" };
}

const publicPart = ({ d: _d, ...pub }: JWK): JWK => pub;

export async function keyRing(signing: JWK, extraPublic: JWK[] = []): Promise<KeyRing> {
  if (!signing.kid || !signing.d) throw new Error("the signing JWK needs a private part (d) and a kid");
  const all = [publicPart(signing), ...extraPublic.map(publicPart)];
  const verifiers = new Map<string, CryptoKey>();
  for (const jwk of all) {
    if (!jwk.kid) throw new Error("every verification JWK needs a kid");
    verifiers.set(jwk.kid, (await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey);
  }
  return {
    kid: signing.kid,
    privateKey: (await importJWK({ ...signing, alg: "EdDSA" }, "EdDSA")) as CryptoKey,
    verifiers,
    jwks: { keys: all.map((k) => ({ ...k, alg: "EdDSA", use: "sig" })) },
  };
}

/**
 * Development keys: KEYS_DIR/jwks.json holds private JWKs, newest last. The newest signs, older ones
 * still verify until their tokens have expired. `rotate` appends a new key (see scripts/rotate-keys.ts).
 */
export async function devKeyRing(dir: string, opts: { rotate?: boolean; keep?: number } = {}): Promise<KeyRing> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = Bun.file(join(dir, "jwks.json"));
  let keys: JWK[] = (await file.exists()) ? ((await file.json()) as { keys: JWK[] }).keys : [];
  if (!keys.length || opts.rotate) {
    keys = [...keys, await newPrivateJwk()].slice(-(opts.keep ?? 2));
    await Bun.write(file, JSON.stringify({ keys }, null, 2), { mode: 0o600 });
  }
  const signing = keys.at(-1)!;
  return keyRing(signing, keys.slice(0, -1));
}
