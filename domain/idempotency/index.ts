export { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE, requestHash, validIdempotencyKey } from "./key";
