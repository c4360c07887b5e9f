export * from "./contracts";
export * from "./envelope";
export * from "./streams";
export * from "./connect";
export * from "./log";
export { uuidv7 } from "./uuid";
export * from "./broadcasts";
export * from "./outbox";
export * from "./ops-tick";
