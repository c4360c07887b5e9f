// `bun run keys:rotate`: a new development signing key. The previous key keeps verifying for the access
// token lifetime (ACCESS_TOKEN_TTL_S), so no token dies early; running edges pick the new key up when they
// first see a token it signed, and sign with it from their next start.
// Production keys come from the environment (JWT_PRIVATE_JWK, JWT_EXTRA_PUBLIC_JWKS): roll them in two
// steps, first the new public key into JWT_EXTRA_PUBLIC_JWKS on every edge, then the new private key.
import { devKeyRing } from "../edge/auth/keys";
import { loadConfig } from "../edge/config";

const config = loadConfig();
if (config.JWT_PRIVATE_JWK) {
  console.error("JWT_PRIVATE_JWK is set: this edge signs with keys from the environment, not from KEYS_DIR.");
  process.exit(1);
}
const ring = await devKeyRing(config.KEYS_DIR, { rotate: true, retainS: config.ACCESS_TOKEN_TTL_S });
console.log(
  JSON.stringify({
    keysDir: config.KEYS_DIR,
    signing: ring.kid,
    verifying: ring.jwks.keys.map((k) => k.kid),
  }),
);
