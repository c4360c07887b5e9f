export {
  type Gate,
  type GateLoad,
  gate,
  MIN_HOLD_GRACE_MS,
  PLACEMENT_WINDOW_MS,
  type PurchaseResult,
  saleKeys,
} from "./gate";
export { decodeHold, encodeHold, type Hold, type HoldState, idemField } from "./hold";
export { expiryOf, gateFromPostgres, ordersDrained, rebuildGate } from "./rebuild";
