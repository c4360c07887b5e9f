// The Idempotency-Key rule and the request hash, for every route that takes the header: the same key with the
// same body is the same request; with another body it is refused.
import { createHash } from "node:crypto";

/** 1 to 255 visible ASCII characters. A key may hold "|": stores that use it as a separator encode it. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = "Idempotency-Key: 1 to 255 visible ASCII characters";

export const validIdempotencyKey = (key: string) => IDEMPOTENCY_KEY.test(key);

/** The hash a retry's body must match: SHA-256 of its parsed JSON, base64url (no "|" in it). */
export const requestHash = (request: unknown) =>
  createHash("sha256").update(JSON.stringify(request)).digest("base64url");
