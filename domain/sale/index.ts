export { gate, saleKeys, type Gate, type GateLoad, type PurchaseResult } from "./gate";
export { decodeHold, encodeHold, idemField, type Hold, type HoldState } from "./hold";
export { rebuildGate, gateFromPostgres, expiryOf, ordersDrained } from "./rebuild";
