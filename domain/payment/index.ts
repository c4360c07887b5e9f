export { gatewayClient, signWebhook, verifyWebhook, GatewayError, type GatewayClient, type GatewayPayment } from "./gateway-client";
export { breaker, CircuitOpen, type Breaker, type BreakerState } from "./breaker";
export { DEV_WEBHOOK_SECRET, devSecretWarnings, refuseDevSecretInProduction } from "./webhook-secret";
