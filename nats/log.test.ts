// Log lines never carry query parameters, password hashes, tokens or passwords, whatever carries them.
import { describe, expect, test } from "bun:test";
import { captured, EMAIL, failedInsert, HASH } from "../tests/log-capture";
import { logger } from "./log";

describe("log redaction", () => {
  test("an error's query parameters are dropped from its message, stack and fields; the query and cause stay", async () => {
    const line = await captured(() => logger({ proc: "test" }).error("unhandled error", { err: failedInsert() }));
    for (const secret of [HASH, EMAIL, "argon2id"]) expect(line).not.toContain(secret);
    const parsed = JSON.parse(line);
    expect(parsed.err.message).toContain('insert into "identity"."users"');
    expect(parsed.err.cause.message).toContain("0x00");
    expect(parsed.err.cause.code).toBe("22021");
  });

  test("fields named like secrets are redacted at any depth", async () => {
    const line = await captured(() =>
      logger({ proc: "test" }).warn("login", {
        password: "Passw0rd!",
        user: { email: "x@y.z", passwordHash: HASH, refreshToken: "rt-123456" },
        headers: { authorization: "Bearer eyJhbGciOi.abc.def", cookie: "sid=1" },
        accessToken: "eyJhbGciOi.abc.def",
        params: ["a", "b"],
        secret: "s3cret",
        note: `a hash ${HASH} in free text`,
      }),
    );
    for (const secret of ["Passw0rd!", HASH, "rt-123456", "eyJhbGciOi", "sid=1", "s3cret", "argon2"])
      expect(line).not.toContain(secret);
    expect(JSON.parse(line)).toMatchObject({ password: "[redacted]", user: { email: "x@y.z" }, params: "[redacted]" });
  });
});
