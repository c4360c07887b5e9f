// Access tokens refuse every broken kind, and the verified-claims cache never outlives a token.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { SignJWT } from "jose";
import { AppError } from "../errors";
import { keyRing, newPrivateJwk } from "./keys";
import { tokenService } from "./tokens";

const ring = await keyRing(await newPrivateJwk());
const tokens = tokenService(ring, { issuer: "flashsale", ttlS: 900 });
const claims = {
  sub: crypto.randomUUID(),
  role: "shopper" as const,
  jti: crypto.randomUUID(),
  fam: crypto.randomUUID(),
};

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const parts = (t: string) => t.split(".") as [string, string, string];
const payloadOf = (t: string) => JSON.parse(Buffer.from(parts(t)[1], "base64url").toString());

async function refusal(token: string): Promise<{ code: string; detail?: string }> {
  try {
    await tokens.verify(token);
  } catch (err) {
    if (err instanceof AppError) return { code: err.code, detail: err.detail };
    throw err;
  }
  throw new Error("the token was accepted");
}

describe("access token verification", () => {
  test("a good token passes, with its claims", async () => {
    const { token, exp } = await tokens.sign(claims);
    expect(await tokens.verify(token)).toEqual({ ...claims, exp });
    expect(JSON.parse(Buffer.from(parts(token)[0], "base64url").toString())).toEqual({
      alg: "EdDSA",
      kid: ring.kid,
      typ: "JWT",
    });
  });

  test("alg none is refused", async () => {
    const { token } = await tokens.sign(claims);
    const none = `${b64({ alg: "none", kid: ring.kid, typ: "JWT" })}.${parts(token)[1]}.`;
    expect((await refusal(none)).code).toBe("UNAUTHENTICATED");
  });

  test("an expired token is TOKEN_EXPIRED", async () => {
    const old = tokenService(ring, { issuer: "flashsale", ttlS: -5 });
    expect((await refusal((await old.sign(claims)).token)).code).toBe("TOKEN_EXPIRED");
  });

  test("a tampered payload is refused", async () => {
    const { token } = await tokens.sign(claims);
    const [h, , sig] = parts(token);
    const forged = `${h}.${b64({ ...payloadOf(token), role: "admin" })}.${sig}`;
    expect((await refusal(forged)).code).toBe("UNAUTHENTICATED");
  });

  test("a foreign key is refused, with an unknown kid or with ours", async () => {
    const foreign = await keyRing(await newPrivateJwk());
    const theirs = tokenService(foreign, { issuer: "flashsale", ttlS: 900 });
    expect(await refusal((await theirs.sign(claims)).token)).toEqual({
      code: "UNAUTHENTICATED",
      detail: "unknown signing key",
    });
    const posing = await new SignJWT({ role: "admin", fam: claims.fam })
      .setProtectedHeader({ alg: "EdDSA", kid: ring.kid })
      .setSubject(claims.sub)
      .setJti(crypto.randomUUID())
      .setIssuer("flashsale")
      .setExpirationTime("5m")
      .sign(foreign.privateKey);
    expect((await refusal(posing)).code).toBe("UNAUTHENTICATED");
  });

  test("alg confusion: HS256 keyed with our public key is refused", async () => {
    const { token } = await tokens.sign(claims);
    const pub = ring.jwks.keys[0]!;
    for (const secret of [JSON.stringify(pub), Buffer.from(pub.x!, "base64url")]) {
      const head = b64({ alg: "HS256", kid: ring.kid, typ: "JWT" });
      const body = b64({ ...payloadOf(token), role: "admin" });
      const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
      expect((await refusal(`${head}.${body}.${sig}`)).code).toBe("UNAUTHENTICATED");
    }
  });

  test("another issuer, a missing kid, a missing claim or an unknown role is refused", async () => {
    const other = tokenService(ring, { issuer: "someone-else", ttlS: 900 });
    expect((await refusal((await other.sign(claims)).token)).code).toBe("UNAUTHENTICATED");
    const base = () =>
      new SignJWT({ role: "shopper", fam: claims.fam })
        .setSubject(claims.sub)
        .setIssuer("flashsale")
        .setExpirationTime("5m");
    const noKid = await base().setJti(crypto.randomUUID()).setProtectedHeader({ alg: "EdDSA" }).sign(ring.privateKey);
    expect((await refusal(noKid)).code).toBe("UNAUTHENTICATED");
    const noJti = await base().setProtectedHeader({ alg: "EdDSA", kid: ring.kid }).sign(ring.privateKey);
    expect((await refusal(noJti)).code).toBe("UNAUTHENTICATED");
    const superuser = await new SignJWT({ role: "root", fam: claims.fam })
      .setProtectedHeader({ alg: "EdDSA", kid: ring.kid })
      .setSubject(claims.sub)
      .setJti(crypto.randomUUID())
      .setIssuer("flashsale")
      .setExpirationTime("5m")
      .sign(ring.privateKey);
    expect((await refusal(superuser)).code).toBe("UNAUTHENTICATED");
  });

  test("garbage is refused", async () => {
    for (const junk of ["", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30.", "x".repeat(5000)])
      expect((await refusal(junk)).code).toBe("UNAUTHENTICATED");
  });

  test("a revoked token is refused even though its claims are cached", async () => {
    const c = { ...claims, jti: crypto.randomUUID() };
    const { token } = await tokens.sign(c);
    await tokens.verify(token);
    tokens.revoke([c.jti], Math.floor(Date.now() / 1000) + 900);
    expect(await refusal(token)).toEqual({ code: "UNAUTHENTICATED", detail: "token revoked" });
  });

  test("cached claims die with the token", async () => {
    const short = tokenService(ring, { issuer: "flashsale", ttlS: 1 });
    const { token } = await short.sign(claims);
    expect((await short.verify(token)).sub).toBe(claims.sub);
    expect(short.peek(token)?.sub).toBe(claims.sub);
    await Bun.sleep(1100);
    expect(short.peek(token)).toBeUndefined();
    await expect(short.verify(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  test("peek knows only verified tokens, and forgets a revoked one (the front layer then verifies, and refuses)", async () => {
    const jti = crypto.randomUUID();
    const { token } = await tokens.sign({ ...claims, jti });
    expect(tokens.peek(token)).toBeUndefined();
    await tokens.verify(token);
    expect(tokens.peek(token)?.sub).toBe(claims.sub);
    tokens.revoke([jti], Math.floor(Date.now() / 1000) + 900);
    expect(tokens.peek(token)).toBeUndefined();
  });
});
