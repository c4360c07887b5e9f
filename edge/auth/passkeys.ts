// Passkeys (WebAuthn): registered by a signed-in user, then a way to log in (email first, or discoverable with no
// email at all). Every challenge lives in Redis for PASSKEY_CHALLENGE_TTL_S and is taken (GETDEL) by the first
// answer that names it, so each works once; the signature counter must grow where the authenticator keeps one.
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { and, asc, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { type Passkey, passkeys, type Tx, type User, users } from "../../db";
import { uuidv7 } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { idParam } from "../validate";
import * as s from "./schemas";

/** How long a challenge (registration or login options) can be answered. */
export const PASSKEY_CHALLENGE_TTL_S = 120;

/** A login challenge made for an email names its account (null: the email has none, so no passkey answers it). */
type Challenge = { kind: "register"; userId: string } | { kind: "login"; userId?: string | null };
const challengeKey = (challenge: string) => `webauthn:challenge:${challenge}`;

/** The challenge a credential answers, read from its client data (checked again by the verification). */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const c = JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")) as { challenge?: unknown };
    return typeof c.challenge === "string" && c.challenge.length <= 512 ? c.challenge : undefined;
  } catch {
    return undefined;
  }
}

const view = (p: Passkey) => ({
  id: p.id,
  credentialId: p.credentialId,
  transports: p.transports,
  deviceType: p.deviceType,
  backedUp: p.backedUp,
  createdAt: p.createdAt,
  lastUsedAt: p.lastUsedAt,
});

type Issue = (tx: Tx, user: Pick<User, "id" | "role">, familyId: string) => Promise<unknown>;

export function passkeyRoutes(d: Deps, { issue }: { issue: Issue }) {
  const app = new Hono<Env>();
  const rp = { rpID: d.config.RP_ID, origin: d.config.RP_ORIGIN };

  async function remember(challenge: string, c: Challenge) {
    await d.redis.set(challengeKey(challenge), JSON.stringify(c), "EX", PASSKEY_CHALLENGE_TTL_S);
  }
  /** Takes the challenge a credential answers: it cannot be answered again. */
  async function take(clientDataJSON: string): Promise<(Challenge & { challenge: string }) | undefined> {
    const challenge = challengeOf(clientDataJSON);
    if (!challenge) return undefined;
    const stored = await d.redis.getdel(challengeKey(challenge));
    return stored ? { ...(JSON.parse(stored) as Challenge), challenge } : undefined;
  }
  const userPasskeys = (userId: string) =>
    d.db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.id));

  app.post(
    "/v1/auth/passkeys/register/options",
    requireRole(),
    openapi({
      summary: "WebAuthn creation options to register a passkey for the signed-in user",
      description: `The challenge can be answered once, within ${PASSKEY_CHALLENGE_TTL_S} s, by POST /v1/auth/passkeys/register.`,
      tags: ["passkeys"],
      responses: { 200: s.webauthnOptions },
    }),
    async (c) => {
      const { sub } = caller(c);
      const [user] = await d.db.select().from(users).where(eq(users.id, sub));
      if (!user) throw new AppError("UNAUTHENTICATED");
      const existing = await userPasskeys(user.id);
      const options = await generateRegistrationOptions({
        rpName: d.config.RP_NAME,
        rpID: rp.rpID,
        userName: user.email,
        userDisplayName: user.name,
        userID: new TextEncoder().encode(user.id),
        timeout: PASSKEY_CHALLENGE_TTL_S * 1000,
        attestationType: "none",
        excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
        // a discoverable credential, so it can log in without an email
        authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
      });
      await remember(options.challenge, { kind: "register", userId: user.id });
      return c.json(options);
    },
  );

  app.post(
    "/v1/auth/passkeys/register",
    requireRole(),
    openapi({
      summary: "Register a passkey: the authenticator's answer to the creation options",
      tags: ["passkeys"],
      body: s.passkeyRegistration,
      responses: { 201: s.passkey },
      errors: ["PASSKEY_INVALID"],
    }),
    async (c) => {
      const { sub } = caller(c);
      const { response } = c.req.valid("json");
      const refuse = (why: string) => new AppError("PASSKEY_INVALID", why);
      const challenge = await take(response.response.clientDataJSON);
      if (challenge?.kind !== "register" || challenge.userId !== sub)
        throw refuse("unknown, used or expired challenge");
      const result = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: challenge.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpID,
        requireUserVerification: false,
      }).catch((err: Error) => {
        throw refuse(err.message);
      });
      if (!result.verified) throw refuse("the attestation does not verify");
      const { credential, credentialDeviceType, credentialBackedUp } = result.registrationInfo;
      const [row] = await d.db
        .insert(passkeys)
        .values({
          id: uuidv7(),
          userId: sub,
          credentialId: credential.id,
          publicKey: credential.publicKey,
          counter: credential.counter,
          transports: credential.transports ?? [],
          deviceType: credentialDeviceType,
          backedUp: credentialBackedUp,
        })
        .onConflictDoNothing({ target: passkeys.credentialId })
        .returning();
      if (!row) throw refuse("this credential is registered already");
      return c.json(view(row), 201);
    },
  );

  app.post(
    "/v1/auth/passkeys/login/options",
    openapi({
      summary: "WebAuthn request options to log in with a passkey",
      description: `With an email, the options list that account's passkeys; without one, any discoverable passkey of this site may answer. The challenge can be answered once, within ${PASSKEY_CHALLENGE_TTL_S} s.`,
      tags: ["passkeys"],
      body: s.passkeyLoginOptions,
      responses: { 200: s.webauthnOptions },
    }),
    async (c) => {
      const { email } = c.req.valid("json");
      const [user] = email ? await d.db.select({ id: users.id }).from(users).where(eq(users.email, email)) : [];
      const allow = user ? await userPasskeys(user.id) : [];
      const options = await generateAuthenticationOptions({
        rpID: rp.rpID,
        timeout: PASSKEY_CHALLENGE_TTL_S * 1000,
        userVerification: "preferred",
        allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports as never })),
      });
      // an unknown email gets options like the discoverable ones, which no passkey can answer
      await remember(options.challenge, { kind: "login", userId: email ? (user?.id ?? null) : undefined });
      return c.json(options);
    },
  );

  app.post(
    "/v1/auth/passkeys/login",
    openapi({
      summary: "Log in with a passkey: the authenticator's answer to the request options",
      tags: ["passkeys"],
      body: s.passkeyAssertion,
      responses: { 200: s.tokenPair },
      errors: ["INVALID_CREDENTIALS"],
    }),
    async (c) => {
      const { response } = c.req.valid("json");
      const refuse = () => new AppError("INVALID_CREDENTIALS", "this passkey answer is not accepted");
      const challenge = await take(response.response.clientDataJSON);
      if (challenge?.kind !== "login") throw refuse();
      const [key] = await d.db.select().from(passkeys).where(eq(passkeys.credentialId, response.id));
      if (!key || (challenge.userId !== undefined && challenge.userId !== key.userId)) throw refuse();
      const result = await verifyAuthenticationResponse({
        response: response as AuthenticationResponseJSON,
        expectedChallenge: challenge.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpID,
        credential: {
          id: key.credentialId,
          publicKey: key.publicKey,
          counter: key.counter,
          transports: key.transports as never,
        },
        requireUserVerification: false,
      }).catch(() => {
        // a bad signature, another origin, or a counter that did not grow (a cloned authenticator)
        throw refuse();
      });
      if (!result.verified) throw refuse();
      const pair = await d.db.transaction(async (tx) => {
        // the counter moves only from the value checked: two answers racing on one counter, one wins
        const [used] = await tx
          .update(passkeys)
          .set({ counter: result.authenticationInfo.newCounter, lastUsedAt: sql`now()` })
          .where(and(eq(passkeys.id, key.id), eq(passkeys.counter, key.counter)))
          .returning({ id: passkeys.id });
        const [user] = used ? await tx.select().from(users).where(eq(users.id, key.userId)) : [];
        if (!user) return undefined;
        const issued = await issue(tx, user, uuidv7());
        c.get("commit")();
        return issued;
      });
      if (!pair) throw refuse();
      return c.json(pair);
    },
  );

  app.get(
    "/v1/me/passkeys",
    requireRole(),
    openapi({ summary: "The signed-in user's passkeys", tags: ["passkeys"], responses: { 200: s.passkeyList } }),
    async (c) => c.json({ items: (await userPasskeys(caller(c).sub)).map(view) }),
  );

  app.delete(
    "/v1/me/passkeys/:id",
    requireRole(),
    openapi({
      summary: "Remove one of the signed-in user's passkeys",
      tags: ["passkeys"],
      responses: { 204: { description: "Removed" } },
      errors: ["NOT_FOUND"],
    }),
    async (c) => {
      const id = idParam(c);
      const [gone] = await d.db
        .delete(passkeys)
        .where(and(eq(passkeys.id, id), eq(passkeys.userId, caller(c).sub)))
        .returning({ id: passkeys.id });
      if (!gone) throw new AppError("NOT_FOUND");
      return c.body(null, 204);
    },
  );

  return app;
}
