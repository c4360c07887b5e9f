export { luaScript, type Script } from "./script";
