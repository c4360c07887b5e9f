export * as defaults from "./defaults";
