// Key rotation: a new key signs, the previous one still verifies, the JWKS lists both, and an edge that
// started before the rotation picks the new key up.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devKeyRing } from "./keys";
import { tokenService } from "./tokens";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "keys-test-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const claims = () => ({
  sub: crypto.randomUUID(),
  role: "shopper" as const,
  jti: crypto.randomUUID(),
  fam: crypto.randomUUID(),
});
const kidOf = (t: string) => JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString()).kid as string;
const opts = { issuer: "flashsale", ttlS: 900 };

describe("development keys", () => {
  test("edge processes starting at once on an empty folder all end up with the same key", async () => {
    const dir = tempDir();
    const rings = await Promise.all(Array.from({ length: 8 }, () => devKeyRing(dir)));
    expect(new Set(rings.map((r) => r.kid)).size).toBe(1);
    const { token } = await tokenService(rings[0]!, opts).sign(claims());
    for (const r of rings) expect((await tokenService(r, opts).verify(token)).sub).toBeString();
  });
});

describe("signing key rotation", () => {
  test("after a rotation the new key signs, tokens of the old key still pass, the JWKS lists both", async () => {
    const dir = tempDir();
    const before = await devKeyRing(dir);
    const old = await tokenService(before, opts).sign(claims());

    const after = await devKeyRing(dir, { rotate: true, retainS: 900 });
    expect(after.kid).not.toBe(before.kid);
    const rotated = tokenService(after, opts);
    const fresh = await rotated.sign(claims());
    expect(kidOf(fresh.token)).toBe(after.kid);
    expect(kidOf(old.token)).toBe(before.kid);
    expect((await rotated.verify(old.token)).exp).toBe(old.exp);
    expect(rotated.jwks.keys.map((k) => k.kid).sort()).toEqual([before.kid, after.kid].sort());
    for (const k of rotated.jwks.keys)
      expect(k).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(rotated.jwks.keys.some((k) => "d" in k || "createdAt" in k)).toBe(false);
    // the same ring comes back on the next start
    expect((await devKeyRing(dir)).kid).toBe(after.kid);
  });

  test("a replaced key is kept while its tokens may live, then dropped", async () => {
    const dir = tempDir();
    await devKeyRing(dir);
    for (let i = 0; i < 3; i++) await devKeyRing(dir, { rotate: true, retainS: 900 });
    expect((await devKeyRing(dir)).jwks.keys).toHaveLength(4);
    await devKeyRing(dir, { rotate: true, retainS: 0 });
    expect((await devKeyRing(dir)).jwks.keys).toHaveLength(2);
  });

  test("an edge started before the rotation verifies tokens of the new key (it rereads the keys once)", async () => {
    const dir = tempDir();
    const running = tokenService(await devKeyRing(dir), { ...opts, reload: () => devKeyRing(dir) });
    const restarted = tokenService(await devKeyRing(dir, { rotate: true, retainS: 900 }), opts);
    const { token } = await restarted.sign(claims());
    expect((await running.verify(token)).jti).toBeString();
    expect(running.jwks.keys).toHaveLength(2);
  });

  test("bun run keys:rotate", async () => {
    const dir = tempDir();
    const first = await devKeyRing(dir);
    const run = Bun.spawnSync(["bun", "run", "keys:rotate"], {
      cwd: join(import.meta.dir, "../.."),
      env: { ...process.env, KEYS_DIR: dir },
    });
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.stdout.toString().trim().split("\n").at(-1)!);
    expect(out.signing).not.toBe(first.kid);
    expect(out.verifying.sort()).toEqual([first.kid, out.signing].sort());
    const file = JSON.parse(readFileSync(join(dir, "jwks.json"), "utf8"));
    expect(file.keys.map((k: { kid: string }) => k.kid)).toEqual([first.kid, out.signing]);
  });
});
