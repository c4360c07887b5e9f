export * from "./identity";
export * from "./catalog";
export * from "./inventory";
export * from "./ordering";
export * from "./payment";
export * from "./messaging";
export * from "./sale";
