export { gatewayClient, signWebhook, verifyWebhook, GatewayError, type GatewayClient, type GatewayPayment } from "./gateway-client";
export { breaker, CircuitOpen, type Breaker, type BreakerState } from "./breaker";
