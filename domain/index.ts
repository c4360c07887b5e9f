export * from "./popularity";
