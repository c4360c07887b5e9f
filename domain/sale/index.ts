export { type Gate, type GateLoad, gate, type PurchaseResult, saleKeys } from "./gate";
export { decodeHold, encodeHold, type Hold, type HoldState, idemField } from "./hold";
export { expiryOf, gateFromPostgres, ordersDrained, rebuildGate } from "./rebuild";
