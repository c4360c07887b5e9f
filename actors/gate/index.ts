export { gate, saleKeys, type Gate, type GateLoad, type Hold, type PurchaseResult } from "./gate";
export { rebuildGate, gateFromPostgres, expiryOf } from "./rebuild";
export { sweepHolds } from "./sweeper";
export { repairGates, startGateRepair, disagreement } from "./repair";
