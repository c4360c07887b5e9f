export { type Breaker, type BreakerState, breaker, CircuitOpen } from "./breaker";
export {
  type GatewayClient,
  GatewayError,
  type GatewayPayment,
  gatewayClient,
  signWebhook,
  verifyWebhook,
} from "./gateway-client";
export { DEV_WEBHOOK_SECRET, devSecretWarnings, refuseDevSecretInProduction } from "./webhook-secret";
