export { cartLines, recordCheckout } from "./lines";
export { cartRoutes } from "./routes";
